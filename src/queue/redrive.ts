import type { Job, Queue } from 'bullmq';
import type { TaskState, TaskType } from '../lifecycle/tasks.ts';
import { insertAuditEntries } from '../store/audit.ts';
import type { Task } from '../store/entities/index.ts';
import type { EntityManager, Orm } from '../store/orm.ts';
import { findResetsWaitingForDevice, lockTask as lockTaskRow, retryTask, setSkipPendingData } from '../store/tasks.ts';
import { jobFor, type JobData, type TaskQueues } from './task-queues.ts';

/**
 * Operator actions on one task (the admin API's `POST /admin/tasks/:id/retry` and
 * `/skip-pending-data`), and the wake-up a device check-in gives a reset waiting on it.
 *
 * The task row is the truth and the queue holds a copy of the work, so every action locks the
 * row (FOR UPDATE) for its whole length, touches the queue, then writes the row guarded by the
 * state and version it read: two operators clicking at once, or a worker claiming the task meanwhile, are
 * serialised on that lock and the second finds the state changed.
 *
 * Two ways to run a task again:
 * - `waiting_for_device`: its BullMQ job is parked in the delayed set; promote it to run now.
 * - `needs_decision`, `failed` (or a waiting task whose job vanished): the job has finished, and
 *   BullMQ ignores an add for a job id it still holds, so the leftover job is removed and the row
 *   goes back to `pending`; the relay adds it again. Attempts are kept (they are the history).
 */
export type OrmOrEm = Orm | EntityManager;

export type RedriveRefusalCode =
  /** No such task (in this tenant). */
  | 'task_not_found'
  /** Retry: the task is not waiting_for_device, needs_decision or failed. */
  | 'not_retryable'
  /** Skip pending data: not a reset task waiting for a device or a decision. */
  | 'not_skippable'
  /** Skip pending data without `confirmDataLoss: true`. */
  | 'confirmation_required'
  /** Its job is running right now and cannot be removed; try again in a moment. */
  | 'task_busy'
  /** The row moved on between the read and the write (should not happen under the lock). */
  | 'state_changed';

export interface RedriveRefusal {
  code: RedriveRefusalCode;
  message: string;
  /** The task's state when refused, when there is a task. */
  state?: TaskState;
}

/**
 * promoted: the delayed job runs now. requeued: back to pending, the relay adds it again.
 * already_due: the job was already waiting for a worker. already_running: a worker has it now.
 */
export type RedriveAction = 'promoted' | 'requeued' | 'already_due' | 'already_running';

export type RedriveResult =
  | { ok: true; taskId: string; from: TaskState; action: RedriveAction }
  | { ok: false; refusal: RedriveRefusal };

export interface TaskScope {
  /** Only act on a task of this tenant (the admin API passes the caller's); others are not found. */
  tenantId?: string;
}

const RETRYABLE: readonly TaskState[] = ['waiting_for_device', 'needs_decision', 'failed'];
const SKIPPABLE: readonly TaskState[] = ['waiting_for_device', 'needs_decision'];

/** "Retry now": run the task again at once. Audited as `task.retry`. */
export async function retryTaskNow(source: OrmOrEm, queues: TaskQueues, taskId: string, actor: string, scope: TaskScope = {}): Promise<RedriveResult> {
  return inTransaction(source, async (em) => {
    const task = await lockTask(em, taskId, scope);
    if (!task) return refuse('task_not_found', 'No such task.');
    if (!RETRYABLE.includes(task.state)) {
      return refuse('not_retryable', `A ${task.state} task cannot be retried; only waiting_for_device, needs_decision and failed tasks can.`, task.state);
    }
    const result = await runAgain(em, queues, task, { skipPendingData: false });
    if (result.ok) await audit(em, task, actor, 'task.retry', { from: task.state, action: result.action });
    return result;
  });
}

/**
 * "Skip pending data": let a reset go on without the data still on the user's devices. Only for a
 * reset task waiting for a device or a decision, and only with `confirmDataLoss === true`, since
 * that data is lost for good. Sets `payload.skipPendingData` and runs the task again; audited as
 * `task.skip_pending_data` with the counts last seen (the reset job audits the loss itself when it
 * runs, as `task.pending_data_skipped`, with the counts at that moment).
 */
export async function skipPendingData(
  source: OrmOrEm,
  queues: TaskQueues,
  taskId: string,
  actor: string,
  input: { confirmDataLoss?: unknown } & TaskScope,
): Promise<RedriveResult> {
  return inTransaction(source, async (em) => {
    const task = await lockTask(em, taskId, input);
    if (!task) return refuse('task_not_found', 'No such task.');
    if (task.type !== 'reset' || !SKIPPABLE.includes(task.state)) {
      return refuse(
        'not_skippable',
        `Pending data can only be skipped for a reset task waiting for a device or a decision (this is a ${task.state} ${task.type} task).`,
        task.state,
      );
    }
    // Checked after the task, so nobody is asked to confirm something that would be refused anyway.
    if (input.confirmDataLoss !== true) {
      return refuse(
        'confirmation_required',
        'Skipping pending data loses whatever is still on the devices; confirm with confirmDataLoss: true.',
        task.state,
      );
    }
    const result = await runAgain(em, queues, task, { skipPendingData: true });
    if (result.ok) {
      const pendingData = (task.result as { pendingData?: { pendingItems?: unknown; devices?: unknown } } | null)?.pendingData;
      await audit(em, task, actor, 'task.skip_pending_data', {
        from: task.state,
        action: result.action,
        confirmDataLoss: true,
        pendingItems: pendingData?.pendingItems ?? null,
        devices: pendingData?.devices ?? null,
      });
    }
    return result;
  });
}

/**
 * A device of this user checked in reporting nothing pending: run the user's resets waiting on a
 * device now instead of at the end of their backoff (each looks at every device again and may
 * wait on another). Call it after the check-in is committed, or the woken job may still read the
 * old count. Returns the ids of the tasks woken.
 */
export async function wakeTasksWaitingForDevice(source: OrmOrEm, queues: TaskQueues, userId: string, scope: TaskScope = {}): Promise<string[]> {
  const em = entityManager(source);
  const woken: string[] = [];
  for (const id of await findResetsWaitingForDevice(em, userId, scope)) {
    const result = await inTransaction(em, async (tem) => {
      const task = await lockTask(tem, id, scope);
      // Claimed by its own timer meanwhile: it is looking at the devices already.
      if (task?.state !== 'waiting_for_device') return null;
      return runAgain(tem, queues, task, { skipPendingData: false });
    });
    if (result?.ok) woken.push(id);
  }
  return woken;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

async function lockTask(em: EntityManager, taskId: string, scope: TaskScope): Promise<Task | null> {
  if (!UUID.test(taskId)) return null; // not an id at all: not found, rather than a database error
  return lockTaskRow(em, taskId, scope);
}

/** Runs the locked task again: promote its parked job, or requeue it through the relay. */
async function runAgain(em: EntityManager, queues: TaskQueues, task: Task, { skipPendingData }: { skipPendingData: boolean }): Promise<RedriveResult> {
  const queue = queues[jobFor(task).queue];
  // The version this action holds the row at; each write moves it on.
  let held: Pick<Task, 'id' | 'version' | 'state'> = task;

  if (task.state === 'waiting_for_device') {
    if (skipPendingData) {
      // Written before the promotion; the woken job's claim waits on this row's lock, so it
      // reads the flag once this transaction commits.
      const version = await setSkipPendingData(em, held);
      if (version === null) return stateChanged(task);
      held = { ...held, version };
    }
    const promoted = await promote(queue, task.id);
    if (promoted !== 'gone') return { ok: true, taskId: task.id, from: task.state, action: promoted };
    // The parked job vanished (queue wiped, or it finished without updating the row): requeue.
  }

  if (!(await removeJob(queue, task.id))) {
    return refuse('task_busy', 'The task is being run by a worker right now; try again in a moment.', task.state);
  }
  if ((await retryTask(em, held, { skipPendingData })) === null) return stateChanged(task);
  return { ok: true, taskId: task.id, from: task.state, action: 'requeued' };
}

/** How long to wait for a job the runner is just parking (row says waiting, job still active). */
const PARKING_POLLS = 20;
const PARKING_POLL_MS = 100;

async function promote(queue: Queue<JobData>, jobId: string): Promise<'promoted' | 'already_due' | 'already_running' | 'gone'> {
  for (let poll = 0; ; poll++) {
    const job: Job<JobData> | undefined = await queue.getJob(jobId);
    if (!job) return 'gone';
    const state = await job.getState();
    if (state === 'delayed') {
      try {
        await job.promote();
        return 'promoted';
      } catch (error) {
        // It left the delayed set between the two calls (its timer fired): look again.
        if (poll >= PARKING_POLLS) throw error;
        continue;
      }
    }
    if (state === 'waiting' || state === 'prioritized' || state === 'waiting-children') return 'already_due';
    if (state === 'active') {
      // The runner records waiting_for_device before it parks the job: give it a moment. If it
      // stays active, a worker is running the task now, which is what "retry now" asks for.
      if (poll >= PARKING_POLLS) return 'already_running';
      await new Promise((resolve) => setTimeout(resolve, PARKING_POLL_MS));
      continue;
    }
    return 'gone'; // completed, failed, unknown: this job will not run the task again
  }
}

/** Removes the task's job (if any). False when it is still there: a worker holds its lock. */
async function removeJob(queue: Queue<JobData>, jobId: string): Promise<boolean> {
  for (let poll = 0; ; poll++) {
    // The return code differs by backend (Redis answers 1 for a missing job, PostgreSQL 0), so look.
    await queue.remove(jobId);
    const job = await queue.getJob(jobId);
    if (!job) return true;
    // The runner commits needs_decision or failed on the row a moment before BullMQ finishes the
    // job, and an active job cannot be removed: give it that moment, as promote() does.
    if (poll >= PARKING_POLLS || (await job.getState()) !== 'active') return false;
    await new Promise((resolve) => setTimeout(resolve, PARKING_POLL_MS));
  }
}

async function audit(em: EntityManager, task: Task, actor: string, action: string, details: Record<string, unknown>): Promise<void> {
  await insertAuditEntries(em, [{ tenantId: task.tenantId, actor, action, userId: task.userId, taskId: task.id, details: { type: task.type, ...details } }]);
}

function refuse(code: RedriveRefusalCode, message: string, state?: TaskState): RedriveResult {
  return { ok: false, refusal: { code, message, ...(state ? { state } : {}) } };
}

function stateChanged(task: Task): RedriveResult {
  return refuse('state_changed', 'The task changed state meanwhile; look at it again.', task.state);
}

function entityManager(source: OrmOrEm): EntityManager {
  return 'em' in source ? (source.em.fork() as EntityManager) : source;
}

/** In the caller's transaction when it has one (as a savepoint), else in a new one. */
function inTransaction<T>(source: OrmOrEm, fn: (em: EntityManager) => Promise<T>): Promise<T> {
  return entityManager(source).transactional(fn);
}
