import type { Policy } from '../src/lifecycle/policy.ts';
import { STORED_USER_STATUSES, type StoredUserStatus } from '../src/lifecycle/statuses.ts';
import { transition } from '../src/lifecycle/transition.ts';
import { loadPolicy } from '../src/store/user-lifecycle.ts';
import type { TaskProcessor } from '../src/queue/processor.ts';

/**
 * Which statuses the sweep moves, and where to, read off the one transition function rather than
 * typed again here (today: active -> inactive, no effects). A set-based UPDATE can only apply a
 * move without effects, so a rule change that adds one fails loudly instead of being skipped.
 */
export function inactivitySweepMoves(policy: Policy): Array<{ from: StoredUserStatus; to: StoredUserStatus }> {
  const moves: Array<{ from: StoredUserStatus; to: StoredUserStatus }> = [];
  for (const status of STORED_USER_STATUSES) {
    const disabledBy = status === 'disabled' ? 'operator' : null;
    const result = transition({ status, disabledBy, failedLoginCount: 0, hasPassword: true }, { type: 'inactivity_sweep' }, policy);
    if (!result.ok || !result.changed) continue;
    if (result.effects.length) throw new Error(`inactivity sweep of ${status} has effects; it cannot run as one statement`);
    moves.push({ from: status, to: result.status });
  }
  return moves;
}

/**
 * One set-based statement per move marks every user with no check-in, sign-in or status change
 * for `inactivityDays` (the status change counts so a user unbanned today is not swept at once),
 * and writes their audit entries in the same statement. No per-user loop: a tenant of 100,000
 * users is one UPDATE.
 */
export const inactivitySweepProcessor: TaskProcessor<'inactivity_sweep'> = async ({ task, em }) => {
  const policy = await loadPolicy(em, task.tenantId);
  const conn = em.getConnection();
  const ctx = em.getTransactionContext();
  let total = 0;
  for (const { from, to } of inactivitySweepMoves(policy)) {
    const rows = await conn.execute<{ count: string }[]>(
      `with moved as (
         update users set status = ?, status_changed_at = now(), version = version + 1, updated_at = now()
          where tenant_id = ? and status = ?
            and greatest(coalesce(last_checkin_at, '-infinity'), coalesce(last_signin_at, '-infinity'), status_changed_at)
                < now() - make_interval(days => ?)
         returning id
       ), audited as (
         insert into audit_entries (tenant_id, at, actor, action, user_id, task_id, details)
         select ?, now(), ?, 'user.inactivity_sweep', id, ?, jsonb_build_object('from', ?::text, 'to', ?::text, 'changed', true, 'inactivityDays', ?::int)
           from moved
         returning 1
       )
       select count(*) as count from audited`,
      [to, task.tenantId, from, policy.inactivityDays, task.tenantId, task.actor, task.id, from, to, policy.inactivityDays],
      'all',
      ctx,
    );
    total += Number(rows[0]?.count ?? 0);
  }
  return { state: 'succeeded', result: { markedInactive: total, inactivityDays: policy.inactivityDays } };
};
