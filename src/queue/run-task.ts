import { DelayedError, UnrecoverableError, type Job } from 'bullmq';
import type { EntityManager } from '@mikro-orm/postgresql';
import { redactError } from '../redact.ts';
import { readTaskPayload, TASK_DEFINITIONS, type TaskType } from '../lifecycle/tasks.ts';
import type { Logger } from '../log.ts';
import { taskBatchSize, taskDuration, tasksFinished } from '../metrics.ts';
import type { Mailer } from '../mail/transport.ts';
import type { Task } from '../store/entities/index.ts';
import { isPermanentDatabaseError } from '../store/errors.ts';
import type { Orm } from '../store/orm.ts';
import { lockTaskUsers } from '../store/task-users.ts';
import { claimTasks, lockClaimableTasks, recordTaskFailure, recordTaskOutcomes, TaskChangedError, type TaskRef } from '../store/tasks.ts';
import { createBatcher } from '../store/batcher.ts';
import { LifecycleWrites } from '../store/lifecycle-writes.ts';
import type { TaskContext, TaskOutcome, TaskProcessors } from './processor.ts';
import type { JobData } from './task-queues.ts';

export interface RunTaskDependencies {
  orm: Orm;
  processors: TaskProcessors;
  mailer: Mailer;
  publicUrl: string;
  logger: Logger;
}

/**
 * Group commit. Lifecycle jobs that arrive while earlier ones are still being written wait and
 * then go together, in one transaction of five statements whatever their number: lock the task
 * rows, lock and read the users, write every user's change (src/store/lifecycle-writes.ts), record
 * the outcomes, commit. Round trips and WAL flushes are what 10,000 resets are made of
 * (bench/jobs.ts). At low load a job goes alone on the next tick, so nothing waits for company.
 */
const MAX_BATCH = 64;
/** Batches written at once (each holds one connection); arrivals meanwhile form the next one. */
const MAX_IN_FLIGHT = 2;

/** A job as BullMQ handed it over (the token proves the lock, for moveToDelayed). */
interface Delivery {
  job: Job<JobData>;
  token: string | undefined;
}

interface Claimed extends Delivery {
  task: Task;
}

export interface TaskRunner {
  /** The BullMQ processor: resolves when the job's task has run (and its outcome is committed). */
  run(job: Job<JobData>, token: string | undefined): Promise<Record<string, unknown>>;
}

/**
 * Runs jobs: claims each job's task row, runs the processor and records the outcome in the same
 * transaction as the processor's changes, so a task is `succeeded` exactly when its effects are
 * committed. A job whose task is already finished, held or cancelled does nothing: that is what
 * makes a duplicate delivery harmless.
 *
 * Task types marked `batch` in the registry share a transaction with the others of their batch. If
 * a task fails in it (a refusal, say), the transaction is rolled back whole, that task runs again
 * alone and the others together; a failure no task can be blamed for sends each task alone. One
 * task's failure never touches another's outcome.
 */
export function createTaskRunner(deps: RunTaskDependencies): TaskRunner {
  // The jobs of one turn of the event loop go together (start: 'tick'); a user with two tasks in a
  // batch is handled by runTogether itself, which cannot know a task's user before its claim.
  const together = createBatcher<Delivery, Record<string, unknown>>({
    maxBatch: MAX_BATCH,
    maxInFlight: MAX_IN_FLIGHT,
    start: 'tick',
    runBatch: (deliveries) => runTogether(deliveries, deps),
    runOne: (delivery) => runAlone(delivery, deps),
    // One task failed (a refusal, usually): it runs alone to fail with its own bookkeeping, and the
    // rest go together again without it. Any other failure sends each task alone.
    blame: (error) => (error instanceof BatchMemberFailed ? error.delivery : undefined),
    onFallback: (error, deliveries, blamed) =>
      blamed
        ? deps.logger.debug({ err: (error as BatchMemberFailed).cause, tasks: deliveries.length }, 'batch rolled back; the failing task runs alone')
        : deps.logger.debug({ err: error, tasks: deliveries.length }, 'batch rolled back; its tasks run one by one'),
  });

  return {
    run(job, token) {
      // The job's name is its task's type (src/queue/task-queues.ts); the claimed row confirms it.
      const type = job.name as TaskType;
      if (!TASK_DEFINITIONS[type]?.batch || !deps.processors[type]) return runAlone({ job, token }, deps);
      return together({ job, token });
    },
  };
}

function contextFor(claimed: Claimed, em: EntityManager, deps: RunTaskDependencies, log: Logger) {
  return {
    task: claimed.task,
    em,
    persistNow: <T>(fn: (em: EntityManager) => Promise<T>) => deps.orm.em.fork().transactional(fn),
    job: claimed.job,
    mailer: deps.mailer,
    publicUrl: deps.publicUrl,
    logger: log,
  };
}

/**
 * Runs a task's processor with the task's payload checked against the registry: the task's type
 * picks both, so the processor gets the payload it is written for. A payload that does not fit
 * fails the task at once (`invalid_payload`): retrying cannot mend it.
 */
function runProcessor<T extends TaskType>(type: T, processors: TaskProcessors, context: Omit<TaskContext<T>, 'payload'>): Promise<TaskOutcome> {
  const processor = processors[type];
  if (!processor) throw new UnrecoverableError(`no processor for task type ${type}`);
  const read = readTaskPayload(type, context.task.payload);
  if (!read.ok) throw new UnrecoverableError(`invalid_payload: ${read.problem}`);
  return processor({ ...context, payload: read.payload });
}

function loggerFor(task: Task, deps: RunTaskDependencies): Logger {
  return deps.logger.child({ taskId: task.id, type: task.type, attempt: task.attempts });
}

/**
 * The batch's tasks in one transaction: their claim, effects and outcomes commit together. Returns
 * each delivery's answer, in order: after the commit, its outcome's bookkeeping (which may fail
 * for it alone: a job parked to wait for a device), or `skipped` for a task that was not claimable.
 */
async function runTogether(batch: readonly Delivery[], deps: RunTaskDependencies): Promise<Array<Record<string, unknown> | Promise<Record<string, unknown>>>> {
  const done = await deps.orm.em.fork().transactional(async (em) => {
    // Locked instead of claimed by an update of their own: the outcome is the one write of each
    // task row, and it counts the attempt. Nobody sees these tasks `running`, but nobody could:
    // the batch commits claim and outcome together.
    const tasks = await lockClaimableTasks(em, batch.map((w) => w.job.data.taskId));
    const claimed = batch.flatMap((delivery) => {
      const task = tasks.get(delivery.job.data.taskId);
      return task ? [{ delivery, job: delivery.job, token: delivery.token, task: { ...task, state: 'running' as const, attempts: task.attempts + 1 } }] : [];
    });
    // Every user locked and read in one statement (in id order: no deadlock between batches),
    // and every lifecycle write in one more. A user with two tasks here would have the second
    // decided on a stale row, so such a batch runs each task's statements in turn instead.
    const owners = claimed.flatMap((c) => (c.task.userId ? [{ userId: c.task.userId, tenantId: c.task.tenantId }] : []));
    const distinct = new Set(owners.map((o) => o.userId)).size === claimed.length;
    const users = distinct ? await lockTaskUsers(em, owners) : undefined;
    const writes = new LifecycleWrites();
    const results = [];
    for (const c of claimed) {
      if (!TASK_DEFINITIONS[c.task.type].batch) throw new Error(`task ${c.task.id} is not of the job's type`);
      const endTimer = taskDuration.startTimer({ type: c.task.type });
      const log = loggerFor(c.task, deps);
      const shared = users ? { batch: { user: users.get(c.task.userId!) ?? null, writes } } : {};
      try {
        results.push({ claimed: c, outcome: await runProcessor(c.task.type, deps.processors, { ...contextFor(c, em, deps, log), ...shared }), endTimer, log });
      } catch (error) {
        throw new BatchMemberFailed(c.delivery, error);
      }
    }
    await writes.run(em);
    await recordOutcomes(em, results.map((r) => [r.claimed.task, r.outcome]), 'locked');
    return new Map(results.map((r) => [r.claimed.delivery, r]));
  });
  taskBatchSize.observe(done.size);
  // A task that was not claimable (finished, held, cancelled) has no outcome here: skipped.
  return batch.map((delivery) => {
    const r = done.get(delivery);
    return r ? finish(r.claimed, r.outcome, r.endTimer, r.log) : { skipped: true };
  });
}

/** A processor in a batch threw: the batch is rolled back and that task is known. */
class BatchMemberFailed extends Error {
  constructor(
    readonly delivery: Delivery,
    override readonly cause: unknown,
  ) {
    super('a task of the batch failed');
  }
}

/**
 * One task: claimed on its own (the attempt counts, and operators see it running, even if the
 * worker dies before the outcome), run in its own transaction, with the failure bookkeeping.
 */
async function runAlone({ job, token }: Delivery, deps: RunTaskDependencies): Promise<Record<string, unknown>> {
  const task = (await claimTasks(deps.orm.em.fork(), [job.data.taskId])).get(job.data.taskId);
  if (!task) return { skipped: true };
  const claimed: Claimed = { job, token, task };
  const log = loggerFor(task, deps);
  // Per attempt: its duration, and the state it ended in (`retry` when it will run again).
  const endTimer = taskDuration.startTimer({ type: task.type });
  let outcome: TaskOutcome;
  try {
    outcome = await deps.orm.em.fork().transactional(async (em) => {
      const result = await runProcessor(task.type, deps.processors, contextFor(claimed, em, deps, log));
      await recordOutcomes(em, [[task, result]], 'claimed');
      return result;
    });
  } catch (error) {
    const lastAttempt = job.attemptsMade + 1 >= (job.opts.attempts ?? TASK_DEFINITIONS[task.type].attempts);
    const permanent = error instanceof UnrecoverableError || isPermanentDatabaseError(error) || lastAttempt;
    // Kept on the task and shown to operators: a database error's values (a failing row) stay out.
    const message = (redactError(error) as Error)?.message ?? String(error);
    // Guarded by the version the run holds (a processor that recorded a sent e-mail moved it on):
    // a task cancelled meanwhile, or claimed again by a second delivery, keeps what it has.
    const recorded = await recordTaskFailure(deps.orm.em.fork(), task, { from: ['running'], retry: !permanent, error: message.slice(0, 4000) });
    if (recorded === null) log.info('task moved on while it ran; its failure is not recorded on it');
    endTimer();
    tasksFinished.inc({ type: task.type, state: permanent ? 'failed' : 'retry' });
    log.warn({ err: error, permanent }, permanent ? 'task failed' : 'task attempt failed; will retry');
    // Bad data does not get better with retries: tell BullMQ to stop.
    throw permanent && !(error instanceof UnrecoverableError) ? new UnrecoverableError(message) : error;
  }
  if (TASK_DEFINITIONS[task.type].batch) taskBatchSize.observe(1);
  return finish(claimed, outcome, endTimer, log);
}

/** After the commit: metrics, the log line, and parking a job that waits for a device. */
async function finish(claimed: Claimed, outcome: TaskOutcome, endTimer: () => void, log: Logger): Promise<Record<string, unknown>> {
  endTimer();
  tasksFinished.inc({ type: claimed.task.type, state: outcome.state });
  if (outcome.state === 'waiting_for_device') {
    // Park the job in BullMQ's delayed set; it comes back on its own after the backoff.
    await claimed.job.moveToDelayed(Date.now() + outcome.retryInMs, claimed.token);
    throw new DelayedError();
  }
  log.info({ state: outcome.state }, 'task finished');
  return { state: outcome.state };
}

/**
 * Each task's outcome, in the transaction that holds its effects (recordTaskOutcomes). A task moved
 * while it ran (an operator cancelling) rolls the work back, and fails the run for good.
 */
async function recordOutcomes(em: EntityManager, outcomes: Array<[task: TaskRef, outcome: TaskOutcome]>, how: 'claimed' | 'locked'): Promise<void> {
  try {
    await recordTaskOutcomes(
      em,
      outcomes.map(([task, outcome]) => ({
        task,
        state: outcome.state,
        result: outcome.result ?? null,
        reason: outcome.state === 'needs_decision' ? outcome.reason : null,
      })),
      how,
    );
  } catch (error) {
    throw error instanceof TaskChangedError ? new UnrecoverableError(error.message) : error;
  }
}
