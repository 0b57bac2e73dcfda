import { UnrecoverableError } from 'bullmq';
import { decidePendingData, type PendingDataDecision } from '../src/lifecycle/pending-data.ts';
import { resolvePolicy } from '../src/lifecycle/policy.ts';
import { transition, type LifecycleEvent } from '../src/lifecycle/transition.ts';
import { insertAuditEntry } from '../src/store/audit.ts';
import { lockTaskUsers } from '../src/store/task-users.ts';
import { runLifecycleEvent } from './lifecycle-event.ts';
import { recycleEvent } from './recycle.ts';
import type { TaskContext, TaskOutcome, TaskProcessor } from '../src/queue/processor.ts';

/**
 * Reset a seat (DESIGN.md §2): clear exactly the selected data, keep the extension, status
 * `setup_required`. Before cutting the apps off it runs the pending-data check
 * (src/lifecycle/pending-data.ts): an online device still uploading makes the task wait
 * (`waiting_for_device`, woken early by a check-in with nothing pending); an offline or removed
 * device stops it in `needs_decision` until an operator retries or skips pending data.
 *
 * The check is not run when the reset would be refused anyway (the refusal fails the task at
 * once instead of after a wait) or when the user is already reset: the first reset revoked every
 * app session, so nothing can arrive from the devices any more and that data was given up then.
 */
export const resetProcessor: TaskProcessor<'reset'> = async (context) => {
  const outcome = await resetSeat(context);
  return outcome.state === 'succeeded' && context.payload.handOverTo ? handOver(context, outcome) : outcome;
};

/**
 * "Reset App Access": the reset seat goes to the person in the payload, in the reset's
 * transaction, through the recycle transition (no welcome e-mail: the operator is shown a
 * generated password). A refusal rolls the reset back with it.
 */
async function handOver(context: TaskContext<'reset'>, outcome: TaskOutcome): Promise<TaskOutcome> {
  // No welcome e-mail (sendWelcome is not part of a hand-over): the operator hands over a password.
  const event = recycleEvent(context.payload.handOverTo!, 'handOverTo');
  const { batch, ...alone } = context;
  // The recycle is decided on the row the reset wrote: the batch's pending writes go first.
  if (batch) await batch.writes.run(context.em);
  const recycled = await runLifecycleEvent(alone, event);
  return { ...outcome, result: { ...outcome.result, handedOver: true, to: recycled.result?.to } };
}

async function resetSeat(context: TaskContext<'reset'>): Promise<TaskOutcome> {
  const { task, payload, em } = context;
  if (!task.userId) throw new UnrecoverableError('reset task has no user');
  const event: LifecycleEvent = { type: 'reset', options: payload.options ?? {} };

  // The user locked for the whole task, so no check-in or recycle slips between the check and the
  // reset, with the policy, the database's clock and the app devices: read by the runner with the
  // rest of its batch, else here (one round trip either way).
  const user = context.batch ? context.batch.user : (await lockTaskUsers(em, [{ userId: task.userId, tenantId: task.tenantId }])).get(task.userId);
  // A reset that will be refused fails now, with its refusal, rather than after waiting on a phone.
  if (!user) return runLifecycleEvent(context, event);
  const lifecycleUser = {
    status: user.status,
    disabledBy: user.disabled_by,
    failedLoginCount: user.failed_login_count,
    hasPassword: user.has_password,
  };
  if (!transition(lifecycleUser, event, resolvePolicy(user.policy)).ok) return runLifecycleEvent(context, event);
  if (user.status === 'setup_required') {
    const outcome = await runLifecycleEvent(context, event);
    return { ...outcome, result: { ...outcome.result, pendingData: { checked: false, why: 'already_reset' } } };
  }

  const decision = decidePendingData(
    user.devices.map((d) => ({ ...d, pendingItems: Number(d.pendingItems), lastCheckinAt: toDate(d.lastCheckinAt), removedAt: toDate(d.removedAt) })),
    toDate(user.now) ?? new Date(),
    { attempt: task.attempts },
  );
  const pendingData = summarise(decision, payload.skipPendingData === true);

  if (!payload.skipPendingData) {
    if (decision.decision === 'wait') {
      context.logger.info({ pendingItems: decision.pendingItems, retryInMs: decision.retryInMs }, 'reset waits for a device to upload');
      return { state: 'waiting_for_device', retryInMs: decision.retryInMs, result: { pendingData } };
    }
    if (decision.decision === 'needs_decision') {
      context.logger.info({ pendingItems: decision.pendingItems }, 'reset needs a decision: app data cannot be retrieved');
      return { state: 'needs_decision', reason: decision.reason, result: { pendingData } };
    }
  } else {
    // The operator chose to give up what is still on the devices; recorded with the reset it
    // allowed (same transaction), with the counts as they stand now.
    insertAuditEntry(em, {
      tenantId: task.tenantId,
      actor: task.actor,
      action: 'task.pending_data_skipped',
      userId: task.userId,
      taskId: task.id,
      details: {
        dataLoss: decision.pendingItems > 0 || decision.decision === 'needs_decision',
        wouldHaveBeen: decision.decision,
        pendingItems: decision.pendingItems,
        devices: decision.devices,
      },
    });
    await em.flush();
  }

  // The row is still locked by this transaction: hand it over instead of reading it again.
  const outcome = await runLifecycleEvent(context, event, { locked: user });
  return { ...outcome, result: { ...outcome.result, pendingData } };
}

/** What the operator reads on the task: the decision and each app device's state and count. */
function summarise(decision: PendingDataDecision, skipped: boolean) {
  return {
    checked: true,
    decision: decision.decision,
    skipped,
    pendingItems: decision.pendingItems,
    devices: decision.devices,
    ...(decision.decision === 'wait' ? { retryInMs: decision.retryInMs } : {}),
  };
}

function toDate(value: Date | string | null | undefined): Date | null {
  if (value === null || value === undefined) return null;
  return value instanceof Date ? value : new Date(value);
}
