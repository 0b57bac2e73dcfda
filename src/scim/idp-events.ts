import { applyLifecycleEvent } from '../store/user-lifecycle.ts';
import { pgArray, sqlIn } from '../store/sql.ts';
import type { TaskPayloads } from '../lifecycle/tasks.ts';
import { activeUsersWorthCounting, guardHolds } from '../lifecycle/deprovision-guard.ts';
import type { Policy } from '../lifecycle/policy.ts';
import { scimDeleteErases } from '../lifecycle/transition.ts';
import { deprovisionGuardTrips } from '../metrics.ts';
import { policyOf, type ScimContext } from './context.ts';
import { scimError } from './errors.ts';

/**
 * Every IdP-driven change of a user's lifecycle passes through here: `active` false/true, DELETE,
 * a revival by re-creation, and HR termination dates. All of it runs in the request's transaction
 * (ctx.em): the status change, its effects, its audit entry and any task row commit with the SCIM
 * write or not at all; the outbox relay enqueues task rows after commit.
 *
 * The mass-deprovision guard (DESIGN.md §2, `deprovisionGuard`, src/lifecycle/deprovision-guard.ts)
 * sits at applyIdpRequest: past its limit, a deactivation or deletion becomes a `held` task for an
 * admin instead of applying; the IdP is answered as usual and its requested state recorded.
 */
export type IdpRequest =
  | { type: 'deactivate' }
  | { type: 'reactivate' }
  | { type: 'delete' }
  /** The IdP POSTs a user it deleted before; `active` and whether it sent a password. */
  | { type: 'revive'; active: boolean; passwordHash?: string };

export async function applyIdpRequest(ctx: ScimContext, userId: string, request: IdpRequest): Promise<void> {
  const policy = await policyOf(ctx);
  if (request.type === 'reactivate' || request.type === 'revive') await cancelHeld(ctx, userId);
  if ((request.type === 'deactivate' || request.type === 'delete') && (await mustHold(ctx, userId, policy))) {
    await hold(ctx, userId, request.type === 'deactivate' ? 'scim_deactivate' : 'scim_delete');
  } else if (request.type === 'delete' && scimDeleteErases(policy)) {
    await queuePurge(ctx, userId);
  } else {
    await applyInline(ctx, userId, request);
  }
  // What the IdP asked for, whatever the policy made of it (a rejected held deprovision, a ban).
  const idpActive = request.type === 'reactivate' || (request.type === 'revive' && request.active);
  await sqlIn(ctx.em)(
    `update users set idp_active = ?, idp_deleted_at = ${request.type === 'delete' ? 'now()' : 'null'} where id = ?`,
    [idpActive, userId],
  );
}

/**
 * Policy decides inside the one transition: onScimDeactivate (disable | ban | deprovision) and
 * onScimDelete (delete | deprovision). Their effects are database work (status, revocations,
 * device flags), applied in this transaction: a leaver is cut off when the IdP's request returns,
 * even if the queue is down.
 */
async function applyInline(ctx: ScimContext, userId: string, request: IdpRequest): Promise<void> {
  const policy = await policyOf(ctx);
  const event =
    request.type === 'deactivate'
      ? { type: 'scim_deactivate' as const }
      : request.type === 'reactivate'
        ? { type: 'scim_reactivate' as const }
        : request.type === 'delete'
          ? { type: 'scim_delete' as const }
          : { type: 'scim_revive' as const, active: request.active, withPassword: request.passwordHash !== undefined };
  const applied = await applyLifecycleEvent(ctx.em, {
    tenantId: ctx.tenantId,
    userId,
    event,
    actor: ctx.actor,
    policy,
    ...(request.type === 'revive' && request.passwordHash ? { passwordHash: request.passwordHash } : {}),
  });
  // IdP events never refuse an existing user; only a missing or purged one is refused.
  if (!applied.ok) throw scimError(404, undefined, `User ${userId} not found`);
}

/**
 * onScimDelete `permanent_delete`: the erasure is irreversible, so it runs as a `purge` task (the
 * existing processor, retried and visible to operators; the guard's `held` state applies to it).
 * The user is 404 to the IdP at once (idp_deleted_at); the task row and the audit entry commit
 * with the request.
 */
async function queuePurge(ctx: ScimContext, userId: string): Promise<void> {
  const sql = sqlIn(ctx.em);
  const [task] = await sql<{ id: string }>(
    `insert into tasks (id, tenant_id, user_id, type, payload, actor, dedupe_key, run_at)
     values (gen_random_uuid(), ?, ?, 'purge', '{}', ?, ?, now()) on conflict do nothing returning id`,
    [ctx.tenantId, userId, ctx.actor, `purge:${userId}`],
  );
  await sql(`insert into audit_entries (tenant_id, at, actor, action, user_id, task_id, details) values (?, now(), ?, 'user.scim_delete', ?, ?, ?::jsonb)`, [
    ctx.tenantId,
    ctx.actor,
    userId,
    task?.id ?? null,
    JSON.stringify({ policy: 'permanent_delete', queued: 'purge' }),
  ]);
}

/**
 * An HR termination date pushed over SCIM: one live `deprovision` task per user (dedupe key
 * `termination:<userId>`), due at that date. A new date moves the task; no date cancels it. A date
 * already past is due at once.
 */
export async function scheduleTermination(ctx: ScimContext, userId: string, terminationDate: Date | null): Promise<void> {
  const sql = sqlIn(ctx.em);
  const dedupeKey = `termination:${userId}`;
  if (terminationDate === null) {
    await sql(
      `update tasks set state = 'cancelled', finished_at = now(), updated_at = now(), version = version + 1,
          result = jsonb_build_object('cancelledBy', ?::text)
        where tenant_id = ? and dedupe_key = ? and state in ('pending', 'held')`,
      [ctx.actor, ctx.tenantId, dedupeKey],
    );
    return;
  }
  const moved = await sql<{ id: string }>(
    `update tasks set run_at = greatest(?::timestamptz, now()), updated_at = now(), version = version + 1
      where tenant_id = ? and dedupe_key = ? and state in ('pending', 'held') returning id`,
    [terminationDate.toISOString(), ctx.tenantId, dedupeKey],
  );
  if (moved.length) return;
  const payload: TaskPayloads['deprovision'] = { source: 'schedule' };
  // A task already enqueued or running holds the key: its date has come and it is cutting the
  // user off now, so a new date has nothing left to move (`on conflict do nothing`).
  await sql(
    `insert into tasks (id, tenant_id, user_id, type, payload, actor, dedupe_key, run_at)
     values (gen_random_uuid(), ?, ?, 'deprovision', ?::jsonb, ?, ?, greatest(?::timestamptz, now()))
     on conflict do nothing`,
    [ctx.tenantId, userId, JSON.stringify(payload), ctx.actor, dedupeKey, terminationDate.toISOString()],
  );
}

/** Held IdP work is one live task per user (its dedupe key); the reason the inbox shows. */
const HELD_KEY = (userId: string) => `idp-held:${userId}`;
export const GUARD_REASON = 'deprovision_guard';
/** How long the alert waits to gather a burst of held changes into one e-mail. */
const GUARD_ALERT_DELAY_SECONDS = 30;

/**
 * Whether this deactivation or deletion must wait for an admin: it would cut off a user who can
 * still sign in, and the IdP's deprovisionings applied or held within the window (audited as
 * changes, or held tasks) already reach the limit. A per-tenant transaction lock makes parallel
 * SCIM requests count one after another, so a burst cannot slip past the limit together.
 */
async function mustHold(ctx: ScimContext, userId: string, policy: Policy): Promise<boolean> {
  const guard = policy.deprovisionGuard;
  if (!guard.enabled) return false;
  const first = await guardCounts(ctx, guard, userId);
  if (!first.status || !CAN_SIGN_IN.includes(first.status)) return false; // nothing left to cut off
  // Past the limit already: hold without queueing behind the lock. Holding is the safe side of a
  // race, so only a decision to apply needs counts taken under the lock.
  if (guardHolds(guard, first.recent, first.active)) return true;
  await sqlIn(ctx.em)(`select pg_advisory_xact_lock(hashtext('deprovision-guard:' || ?::text))`, [ctx.tenantId]);
  // A statement of its own: its snapshot is taken after the lock, so it sees every change
  // committed by whoever held the lock before.
  const locked = await guardCounts(ctx, guard);
  return guardHolds(guard, locked.recent, locked.active);
}

const CAN_SIGN_IN = ['active', 'inactive', 'password_required'];

/**
 * One round trip: the user's status (when asked), the IdP deprovisionings applied or held within
 * the window, and the users who can sign in, counted only as far as the decision needs.
 */
async function guardCounts(ctx: ScimContext, guard: Policy['deprovisionGuard'], userId?: string): Promise<{ status?: string; recent: number; active: number }> {
  const [row] = await sqlIn(ctx.em)<{ status: string | null; recent: string; active: string }>(
    `select
       ${userId ? '(select status from users where id = ?)' : 'null'} as status,
       (select count(*) from audit_entries
         where tenant_id = ? and at > now() - make_interval(mins => ?) and actor like 'scim:%'
           and action in ('user.scim_deactivate', 'user.scim_delete') and (details->>'changed')::boolean is true)
       + (select count(*) from tasks
           where tenant_id = ? and reason = ? and created_at > now() - make_interval(mins => ?)) as recent,
       (select count(*) from (select 1 from users where tenant_id = ? and status = any(?::text[]) limit ?) s) as active`,
    [
      ...(userId ? [userId] : []),
      ctx.tenantId,
      guard.windowMinutes,
      ctx.tenantId,
      GUARD_REASON,
      guard.windowMinutes,
      ctx.tenantId,
      pgArray(CAN_SIGN_IN),
      activeUsersWorthCounting(guard),
    ],
  );
  return { ...(row?.status ? { status: row.status } : {}), recent: Number(row!.recent), active: Number(row!.active) };
}

async function hold(ctx: ScimContext, userId: string, idpEvent: 'scim_deactivate' | 'scim_delete'): Promise<void> {
  const sql = sqlIn(ctx.em);
  const payload: TaskPayloads['deprovision'] = { source: 'scim', idpEvent };
  // A user already held keeps one task; a later delete replaces a held deactivation's event.
  const [task] = await sql<{ id: string }>(
    `insert into tasks (id, tenant_id, user_id, type, state, reason, payload, actor, dedupe_key, run_at)
     values (gen_random_uuid(), ?, ?, 'deprovision', 'held', ?, ?::jsonb, ?, ?, now())
     on conflict (tenant_id, dedupe_key) where dedupe_key is not null and state not in ('succeeded', 'failed', 'cancelled')
     do update set payload = excluded.payload, updated_at = now(), version = tasks.version + 1
     returning id`,
    [ctx.tenantId, userId, GUARD_REASON, JSON.stringify(payload), ctx.actor, HELD_KEY(userId)],
  );
  await sql(`insert into audit_entries (tenant_id, at, actor, action, user_id, task_id, details) values (?, now(), ?, 'user.idp_change_held', ?, ?, ?::jsonb)`, [
    ctx.tenantId,
    ctx.actor,
    userId,
    task!.id,
    JSON.stringify({ idpEvent, reason: GUARD_REASON }),
  ]);
  // One live alert per tenant, due shortly, so a burst of held changes is one e-mail to the admins.
  // Not even tried when one is live already: an insert that meets the unique key of an uncommitted
  // one waits for that transaction, which would line up a whole burst of held changes.
  await sql(
    `insert into tasks (id, tenant_id, type, payload, actor, dedupe_key, run_at)
     select gen_random_uuid(), ?, 'guard_alert', '{}', ?, 'guard-alert', now() + make_interval(secs => ?)
      where not exists (select 1 from tasks where tenant_id = ? and dedupe_key = 'guard-alert' and state not in ('succeeded', 'failed', 'cancelled'))
     on conflict do nothing`,
    [ctx.tenantId, ctx.actor, GUARD_ALERT_DELAY_SECONDS, ctx.tenantId],
  );
  deprovisionGuardTrips.inc();
  ctx.logger?.warn({ tenantId: ctx.tenantId, userId, taskId: task!.id, idpEvent }, 'deprovision guard: IdP change held for approval');
}

/** The IdP re-activated a user whose deprovisioning was held: nothing to approve any more. */
async function cancelHeld(ctx: ScimContext, userId: string): Promise<void> {
  const sql = sqlIn(ctx.em);
  const cancelled = await sql<{ id: string }>(
    `update tasks set state = 'cancelled', finished_at = now(), updated_at = now(), version = version + 1,
        result = jsonb_build_object('cancelledBy', ?::text)
      where tenant_id = ? and dedupe_key = ? and state = 'held' returning id`,
    [ctx.actor, ctx.tenantId, HELD_KEY(userId)],
  );
  for (const { id } of cancelled) {
    await sql(`insert into audit_entries (tenant_id, at, actor, action, user_id, task_id, details) values (?, now(), ?, 'task.held_cancelled', ?, ?, '{}'::jsonb)`, [
      ctx.tenantId,
      ctx.actor,
      userId,
      id,
    ]);
  }
}
