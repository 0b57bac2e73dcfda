import { applyLifecycleEventToIdleUsers, loadPolicy } from '../src/store/user-lifecycle.ts';
import type { TaskProcessor } from '../src/queue/processor.ts';

/**
 * Marks every user of the tenant with no check-in, sign-in or status change for `inactivityDays`
 * through the lifecycle applier, set-based: one statement per status the sweep moves (today:
 * active -> inactive), audit entries included, however many users the tenant has. No per-user
 * loop: a tenant of 100,000 users is one UPDATE.
 */
export const inactivitySweepProcessor: TaskProcessor<'inactivity_sweep'> = async ({ task, em }) => {
  const policy = await loadPolicy(em, task.tenantId);
  const markedInactive = await applyLifecycleEventToIdleUsers(em, {
    tenantId: task.tenantId,
    event: { type: 'inactivity_sweep' },
    idleDays: policy.inactivityDays,
    actor: task.actor,
    taskId: task.id,
    policy,
    details: { inactivityDays: policy.inactivityDays },
  });
  return { state: 'succeeded', result: { markedInactive, inactivityDays: policy.inactivityDays } };
};
