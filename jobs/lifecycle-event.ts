import { UnrecoverableError } from 'bullmq';
import type { LifecycleEvent } from '../src/lifecycle/transition.ts';
import { applyLifecycleEvent, type LockedUserRow } from '../src/store/user-lifecycle.ts';
import type { TaskContext, TaskOutcome } from '../src/queue/processor.ts';
import type { TaskType } from '../src/lifecycle/tasks.ts';

/**
 * The shape of most processors: apply one lifecycle event to the task's user. A refusal (ban a
 * purged user, recycle a user who was not reset) is permanent: the task fails with the refusal's
 * code and message, and retrying would not change the answer.
 */
export async function runLifecycleEvent(
  context: TaskContext<TaskType>,
  event: LifecycleEvent,
  options: { locked?: LockedUserRow } = {},
): Promise<TaskOutcome> {
  const { task, em, batch } = context;
  if (!task.userId) throw new UnrecoverableError(`${task.type} task has no user`);
  // In a batch the runner has locked the user already; its write then goes with the batch's.
  const locked = options.locked ?? batch?.user ?? undefined;
  const applied = await applyLifecycleEvent(em, {
    tenantId: task.tenantId,
    userId: task.userId,
    event,
    actor: task.actor,
    taskId: task.id,
    ...(locked ? { locked, defer: batch?.writes } : {}),
  });
  if (!applied.ok) throw new UnrecoverableError(`${applied.refusal.code}: ${applied.refusal.message}`);
  return {
    state: 'succeeded',
    result: { from: applied.from, to: applied.result.status, changed: applied.result.changed },
  };
}
