import { applyLifecycleEvent } from '../store/user-lifecycle.ts';
import { updateUserIdpStateById } from '../store/users.ts';
import type { TaskPayloads } from '../lifecycle/tasks.ts';
import { guardHolds, guardTrip, type GuardTrip } from '../lifecycle/deprovision-guard.ts';
import { insertAuditEntries } from '../store/audit.ts';
import { CAN_SIGN_IN, GUARD_REASON, countDeprovisionGuard, lockDeprovisionGuard } from '../store/deprovision-guard.ts';
import { cancelTasks, holdTask, insertTask, rescheduleTasks } from '../store/tasks.ts';
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
  const trip = request.type === 'deactivate' || request.type === 'delete' ? await mustHold(ctx, userId, policy) : null;
  if (trip) {
    await hold(ctx, userId, request.type === 'deactivate' ? 'scim_deactivate' : 'scim_delete', trip);
  } else if (request.type === 'delete' && scimDeleteErases(policy)) {
    await queuePurge(ctx, userId);
  } else {
    await applyInline(ctx, userId, request);
  }
  // What the IdP asked for, whatever the policy made of it (a rejected held deprovision, a ban).
  const idpActive = request.type === 'reactivate' || (request.type === 'revive' && request.active);
  await updateUserIdpStateById(ctx.em, userId, { active: idpActive, deleted: request.type === 'delete' });
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
  // A purge already live for this user keeps its task (the entry then names none).
  const taskId = await insertTask(ctx.em, { tenantId: ctx.tenantId, type: 'purge', actor: ctx.actor, skipTakenKeys: true }, { userId, dedupeKey: `purge:${userId}` });
  await insertAuditEntries(ctx.em, [
    { tenantId: ctx.tenantId, actor: ctx.actor, action: 'user.scim_delete', userId, taskId, details: { policy: 'permanent_delete', queued: 'purge' } },
  ]);
}

/**
 * An HR termination date pushed over SCIM: one live `deprovision` task per user (dedupe key
 * `termination:<userId>`), due at that date. A new date moves the task; no date cancels it. A date
 * already past is due at once.
 */
export async function scheduleTermination(ctx: ScimContext, userId: string, terminationDate: Date | null): Promise<void> {
  const scheduled = { tenantId: ctx.tenantId, dedupeKey: `termination:${userId}` };
  const notStarted = ['pending', 'held'] as const;
  if (terminationDate === null) {
    await cancelTasks(ctx.em, scheduled, { from: notStarted, result: { cancelledBy: ctx.actor } });
    return;
  }
  const moved = await rescheduleTasks(ctx.em, scheduled, { from: notStarted, runAt: terminationDate });
  if (moved.length) return;
  const payload: TaskPayloads['deprovision'] = { source: 'schedule' };
  // A task already enqueued or running holds the key: its date has come and it is cutting the
  // user off now, so a new date has nothing left to move (the taken key is skipped).
  await insertTask(
    ctx.em,
    { tenantId: ctx.tenantId, type: 'deprovision', actor: ctx.actor, skipTakenKeys: true },
    { userId, payload, dedupeKey: scheduled.dedupeKey, runAt: terminationDate },
  );
}

/** Held IdP work is one live task per user (its dedupe key); GUARD_REASON is the reason the inbox shows. */
const HELD_KEY = (userId: string) => `idp-held:${userId}`;
/** How long the alert waits to gather a burst of held changes into one e-mail. */
const GUARD_ALERT_DELAY_SECONDS = 30;

/**
 * Whether this deactivation or deletion must wait for an admin: it would cut off a user who can
 * still sign in, and the IdP's deprovisionings applied or held within the window (audited as
 * changes, or held tasks) already reach the limit. A per-tenant transaction lock makes parallel
 * SCIM requests count one after another, so a burst cannot slip past the limit together.
 */
async function mustHold(ctx: ScimContext, userId: string, policy: Policy): Promise<GuardTrip | null> {
  const guard = policy.deprovisionGuard;
  if (!guard.enabled) return null;
  const first = await countDeprovisionGuard(ctx.em, { tenantId: ctx.tenantId, guard, userId });
  if (!first.status || !CAN_SIGN_IN.includes(first.status)) return null; // nothing left to cut off
  // Past the limit already: hold without queueing behind the lock. Holding is the safe side of a
  // race, so only a decision to apply needs counts taken under the lock.
  if (guardHolds(guard, first.recent, first.active)) return guardTrip(guard, first.recent, first.active);
  await lockDeprovisionGuard(ctx.em, ctx.tenantId);
  // A statement of its own: its snapshot is taken after the lock, so it sees every change
  // committed by whoever held the lock before.
  const locked = await countDeprovisionGuard(ctx.em, { tenantId: ctx.tenantId, guard });
  return guardHolds(guard, locked.recent, locked.active) ? guardTrip(guard, locked.recent, locked.active) : null;
}

async function hold(ctx: ScimContext, userId: string, idpEvent: 'scim_deactivate' | 'scim_delete', trip: GuardTrip): Promise<void> {
  const payload: TaskPayloads['deprovision'] = { source: 'scim', idpEvent };
  // A user already held keeps one task; a later delete replaces a held deactivation's event.
  const taskId = await holdTask(ctx.em, {
    tenantId: ctx.tenantId,
    userId,
    type: 'deprovision',
    payload,
    actor: ctx.actor,
    dedupeKey: HELD_KEY(userId),
    reason: GUARD_REASON,
    // What the inbox says why with: "26 in 60 minutes, limit 25".
    result: { guard: trip },
  });
  await insertAuditEntries(ctx.em, [
    { tenantId: ctx.tenantId, actor: ctx.actor, action: 'user.idp_change_held', userId, taskId, details: { idpEvent, reason: GUARD_REASON, guard: trip } },
  ]);
  // One live alert per tenant, due shortly, so a burst of held changes is one e-mail to the admins
  // (a live one is not even tried: the taken key is skipped without waiting on it).
  await insertTask(
    ctx.em,
    { tenantId: ctx.tenantId, type: 'guard_alert', actor: ctx.actor, skipTakenKeys: true },
    { dedupeKey: 'guard-alert', delaySeconds: GUARD_ALERT_DELAY_SECONDS },
  );
  deprovisionGuardTrips.inc();
  ctx.logger?.warn({ tenantId: ctx.tenantId, userId, taskId, idpEvent }, 'deprovision guard: IdP change held for approval');
}

/** The IdP re-activated a user whose deprovisioning was held: nothing to approve any more. */
async function cancelHeld(ctx: ScimContext, userId: string): Promise<void> {
  const cancelled = await cancelTasks(ctx.em, { tenantId: ctx.tenantId, dedupeKey: HELD_KEY(userId) }, { from: ['held'], result: { cancelledBy: ctx.actor } });
  await insertAuditEntries(
    ctx.em,
    cancelled.map(({ id }) => ({ tenantId: ctx.tenantId, actor: ctx.actor, action: 'task.held_cancelled', userId, taskId: id })),
  );
}
