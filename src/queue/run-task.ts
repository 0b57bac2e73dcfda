import { DelayedError, UnrecoverableError, type Job } from 'bullmq';
import type { EntityManager } from '@mikro-orm/postgresql';
import { TASK_DEFINITIONS, type JobData } from '../../jobs/registry.ts';
import type { TaskOutcome, TaskProcessor, TaskProcessors } from '../../jobs/types.ts';
import type { TaskType } from '../lifecycle/tasks.ts';
import type { Logger } from '../log.ts';
import { taskDuration, tasksFinished } from '../metrics.ts';
import type { Mailer } from '../mail/transport.ts';
import { TaskSchema, type Task } from '../store/entities/index.ts';
import { isPermanentDatabaseError } from '../store/errors.ts';
import type { Orm } from '../store/orm.ts';

export interface RunTaskDependencies {
  orm: Orm;
  processors: TaskProcessors;
  mailer: Mailer;
  publicUrl: string;
  logger: Logger;
}

/** States a job may (re)claim its task from. `running` covers a worker that died mid-way. */
const CLAIMABLE = ['pending', 'enqueued', 'running', 'waiting_for_device'];

/**
 * Runs one job: claims its task row, runs the processor and records the outcome in the same
 * transaction as the processor's changes, so a task is `succeeded` exactly when its effects are
 * committed. A job whose task is already finished, held or cancelled does nothing: that is what
 * makes a duplicate delivery harmless.
 */
export async function runTask(job: Job<JobData>, token: string | undefined, deps: RunTaskDependencies): Promise<Record<string, unknown>> {
  const { orm, logger } = deps;
  const claimed = await claimTask(orm.em.fork(), job.data.taskId);
  if (!claimed) return { skipped: true };
  const log = logger.child({ taskId: claimed.id, type: claimed.type, attempt: claimed.attempts });
  // The registry pairs each type with its own processor; here the pairing is erased to run it.
  const processor = deps.processors[claimed.type] as TaskProcessor<TaskType> | undefined;

  // Per attempt: its duration, and the state it ended in (`retry` when it will run again).
  const endTimer = taskDuration.startTimer({ type: claimed.type });
  let outcome: TaskOutcome;
  try {
    if (!processor) throw new UnrecoverableError(`no processor for task type ${claimed.type}`);
    outcome = await orm.em.fork().transactional(async (em) => {
      const result = await processor({
        task: claimed,
        payload: claimed.payload as never,
        em,
        persistNow: (fn) => orm.em.fork().transactional(fn),
        job,
        mailer: deps.mailer,
        publicUrl: deps.publicUrl,
        logger: log,
      });
      await recordOutcome(em, claimed.id, result);
      return result;
    });
  } catch (error) {
    const lastAttempt = job.attemptsMade + 1 >= (job.opts.attempts ?? TASK_DEFINITIONS[claimed.type].attempts);
    const permanent = error instanceof UnrecoverableError || isPermanentDatabaseError(error) || lastAttempt;
    const message = (error as Error)?.message ?? String(error);
    await orm.em
      .fork()
      .getConnection()
      .execute(
        `update tasks set state = ?, last_error = ?, finished_at = case when ? then now() else null end, updated_at = now()
          where id = ? and state = 'running'`,
        [permanent ? 'failed' : 'enqueued', message.slice(0, 4000), permanent, claimed.id],
      );
    endTimer();
    tasksFinished.inc({ type: claimed.type, state: permanent ? 'failed' : 'retry' });
    log.warn({ err: error, permanent }, permanent ? 'task failed' : 'task attempt failed; will retry');
    // Bad data does not get better with retries: tell BullMQ to stop.
    throw permanent && !(error instanceof UnrecoverableError) ? new UnrecoverableError(message) : error;
  }

  endTimer();
  tasksFinished.inc({ type: claimed.type, state: outcome.state });
  if (outcome.state === 'waiting_for_device') {
    // Park the job in BullMQ's delayed set; it comes back on its own after the backoff.
    await job.moveToDelayed(Date.now() + outcome.retryInMs, token);
    throw new DelayedError();
  }
  log.info({ state: outcome.state }, 'task finished');
  return { state: outcome.state };
}

/**
 * Moves the task to `running` and returns the row in the same statement (the hot path: one round
 * trip, no ORM hydration). `running` is claimable too so a job whose worker died can be re-run.
 */
async function claimTask(em: EntityManager, taskId: string): Promise<Task | null> {
  const rows = await em.getConnection().execute<Record<string, unknown>[]>(
    `update tasks set state = 'running', attempts = attempts + 1, started_at = now(), updated_at = now(),
       version = version + 1
      where id = ? and state in (${CLAIMABLE.map(() => '?').join(', ')})
      returning *`,
    [taskId, ...CLAIMABLE],
  );
  return rows[0] ? taskFromRow(rows[0]) : null;
}

function taskFromRow(row: Record<string, unknown>): Task {
  return Object.fromEntries(Object.entries(row).map(([column, value]) => [column.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase()), value])) as unknown as Task;
}

async function recordOutcome(em: EntityManager, taskId: string, outcome: TaskOutcome): Promise<void> {
  const finished = outcome.state === 'succeeded';
  const rows = await em.getConnection().execute<{ id: string }[]>(
    `update tasks set state = ?, result = ?::jsonb, reason = ?, last_error = null,
       finished_at = case when ? then now() else null end, updated_at = now(), version = version + 1
      where id = ? and state = 'running'
      returning id`,
    [
      outcome.state,
      JSON.stringify(outcome.result ?? null),
      outcome.state === 'needs_decision' ? outcome.reason : null,
      finished,
      taskId,
    ],
    'all',
    em.getTransactionContext(),
  );
  // Someone (an operator cancelling) moved the task while it ran: roll the work back.
  if (rows.length !== 1) throw new UnrecoverableError('task changed state while running; its effects were rolled back');
}
