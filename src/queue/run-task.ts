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

interface Waiting extends Delivery {
  resolve(value: Record<string, unknown>): void;
  reject(error: unknown): void;
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
  const waiting: Waiting[] = [];
  let inFlight = 0;
  let scheduled = false;

  const schedule = () => {
    if (scheduled || inFlight >= MAX_IN_FLIGHT || waiting.length === 0) return;
    scheduled = true;
    setImmediate(() => {
      scheduled = false;
      while (inFlight < MAX_IN_FLIGHT && waiting.length > 0) {
        inFlight++;
        void runTogether(waiting.splice(0, MAX_BATCH), deps).finally(() => {
          inFlight--;
          schedule();
        });
      }
    });
  };

  return {
    run(job, token) {
      // The job's name is its task's type (src/queue/task-queues.ts); the claimed row confirms it.
      const type = job.name as TaskType;
      if (!TASK_DEFINITIONS[type]?.batch || !deps.processors[type]) return runAlone({ job, token }, deps);
      return new Promise((resolve, reject) => {
        waiting.push({ job, token, resolve, reject });
        schedule();
      });
    },
  };
}

function settle(waiting: Waiting, result: Promise<Record<string, unknown>>): Promise<void> {
  return result.then(waiting.resolve, waiting.reject);
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

/** The batch's tasks in one transaction: their claim, effects and outcomes commit together. */
async function runTogether(batch: Waiting[], deps: RunTaskDependencies): Promise<void> {
  if (batch.length <= 1) return batch[0] && settle(batch[0], runAlone(batch[0], deps));
  let done: Array<{ claimed: Claimed & { waiting: Waiting }; outcome: TaskOutcome; endTimer: () => void; log: Logger }>;
  let skipped: Waiting[];
  try {
    ({ done, skipped } = await deps.orm.em.fork().transactional(async (em) => {
      // Locked instead of claimed by an update of their own: the outcome is the one write of each
      // task row, and it counts the attempt. Nobody sees these tasks `running`, but nobody could:
      // the batch commits claim and outcome together.
      const tasks = await lockClaimableTasks(em, batch.map((w) => w.job.data.taskId));
      const claimed = batch.flatMap((w) => {
        const task = tasks.get(w.job.data.taskId);
        return task ? [{ waiting: w, job: w.job, token: w.token, task: { ...task, state: 'running' as const, attempts: task.attempts + 1 } }] : [];
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
          throw new BatchMemberFailed(c.waiting, error);
        }
      }
      await writes.run(em);
      await recordOutcomes(em, results.map((r) => [r.claimed.task, r.outcome]), 'locked');
      return { done: results, skipped: batch.filter((w) => !tasks.has(w.job.data.taskId)) };
    }));
  } catch (error) {
    if (error instanceof BatchMemberFailed) {
      // One task failed (a refusal, usually): it runs alone to fail with its own bookkeeping, and
      // the rest go together again without it.
      deps.logger.debug({ err: error.cause, tasks: batch.length }, 'batch rolled back; the failing task runs alone');
      await Promise.all([settle(error.waiting, runAlone(error.waiting, deps)), runTogether(batch.filter((w) => w !== error.waiting), deps)]);
    } else {
      deps.logger.debug({ err: error, tasks: batch.length }, 'batch rolled back; its tasks run one by one');
      await Promise.all(batch.map((w) => settle(w, runAlone(w, deps))));
    }
    return;
  }
  taskBatchSize.observe(done.length);
  for (const w of skipped) w.resolve({ skipped: true });
  await Promise.all(done.map((r) => settle(r.claimed.waiting, finish(r.claimed, r.outcome, r.endTimer, r.log))));
}

/** A processor in a batch threw: the batch is rolled back and that task is known. */
class BatchMemberFailed extends Error {
  constructor(
    readonly waiting: Waiting,
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
