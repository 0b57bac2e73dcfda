import type { Job } from 'bullmq';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { Logger } from '../log.ts';
import type { Mailer } from '../mail/transport.ts';
import type { TaskPayloads, TaskType } from '../lifecycle/tasks.ts';
import type { Task } from '../store/entities/index.ts';
import type { TaskUserRow } from '../store/task-users.ts';
import type { LifecycleWrites } from '../store/lifecycle-writes.ts';
import type { JobData } from './task-queues.ts';

/**
 * The runner's contract with the processors in jobs/: what a processor is given for its task
 * (TaskContext) and what it answers (TaskOutcome). The runner (run-task.ts) claims the task, checks
 * its payload against the task registry (src/lifecycle/tasks.ts), and writes the outcome.
 */

/** What a processor decides about its task; the runner writes it to the task row. */
export type TaskOutcome =
  | { state: 'succeeded'; result?: Record<string, unknown> }
  /** App data still on a device: run again after `retryInMs` (or sooner on "retry now"). */
  | { state: 'waiting_for_device'; retryInMs: number; result?: Record<string, unknown> }
  /** A person must decide (retry, skip); the job ends and the task waits in the inbox. */
  | { state: 'needs_decision'; reason: string; result?: Record<string, unknown> };

export interface TaskContext<T extends TaskType> {
  /** The task row as claimed (state `running`, attempts already counted). */
  task: Task;
  /** The row's payload, checked against its type's schema. */
  payload: TaskPayloads[T];
  /** Inside the transaction that also records the outcome: commit both or neither. */
  em: EntityManager;
  /**
   * Runs `fn` in its own transaction, committed at once whatever happens to the task's: for
   * facts that must survive a rollback, such as "this email was sent".
   */
  persistNow<T>(fn: (em: EntityManager) => Promise<T>): Promise<T>;
  job: Job<JobData>;
  /**
   * Set when the task runs in a batch with others (group commit, run-task.ts): its user already
   * locked and read by the runner (null: no such user), and the batch's writes to hand the
   * lifecycle write to. Processors that apply one lifecycle event get both through
   * runLifecycleEvent.
   */
  batch?: { user: TaskUserRow | null; writes: LifecycleWrites };
  mailer: Mailer;
  publicUrl: string;
  logger: Logger;
}

export type TaskProcessor<T extends TaskType> = (context: TaskContext<T>) => Promise<TaskOutcome>;
export type TaskProcessors = { [T in TaskType]?: TaskProcessor<T> };
