import { applyLifecycleEvent } from '../store/user-lifecycle.ts';
import { sqlIn } from '../store/sql.ts';
import type { TaskPayloads } from '../../jobs/registry.ts';
import { policyOf, type ScimContext } from './context.ts';
import { scimError } from './errors.ts';

/**
 * Every IdP-driven change of a user's lifecycle passes through here: `active` false/true, DELETE,
 * a revival by re-creation, and HR termination dates. All of it runs in the request's transaction
 * (ctx.em): the status change, its effects, its audit entry and any task row commit with the SCIM
 * write or not at all; the outbox relay enqueues task rows after commit.
 *
 * The mass-deprovision guard (DESIGN.md §2, `deprovisionGuard`) hooks in here, at
 * applyIdpRequest: past its threshold, deactivations and deletions become `held` tasks for an
 * admin instead of applying inline. It is not built yet (a later issue).
 */
export type IdpRequest =
  | { type: 'deactivate' }
  | { type: 'reactivate' }
  | { type: 'delete' }
  /** The IdP POSTs a user it deleted before; `active` and whether it sent a password. */
  | { type: 'revive'; active: boolean; passwordHash?: string };

export async function applyIdpRequest(ctx: ScimContext, userId: string, request: IdpRequest): Promise<void> {
  const policy = await policyOf(ctx);
  if (request.type === 'delete' && policy.onScimDelete === 'permanent_delete') {
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
