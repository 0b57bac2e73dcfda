import { QUEUE_NAMES, TASK_DEFINITIONS, type QueueName, type TaskType } from '../lifecycle/tasks.ts';
import { oldestWaitingSeconds, queueDepth } from '../metrics.ts';
import type { Orm } from '../store/orm.ts';
import { findOldestDueTaskAges } from '../store/tasks.ts';
import type { TaskQueues } from './task-queues.ts';

/** BullMQ job states reported as turnover_queue_depth{queue, state}. */
const JOB_STATES = ['waiting', 'prioritized', 'active', 'delayed', 'failed', 'completed', 'waiting-children'] as const;
/** Task states of a due task not yet running: pending (the relay's to hand over) and enqueued (the workers' to take). */
const WAITING_STATES = ['pending', 'enqueued'] as const;

/**
 * The scrape-time collector for /metrics (createApp's `beforeScrape`): queue depth per queue and
 * BullMQ state, read from the backend, and the age of the oldest task waiting to run per queue,
 * read from the task rows (due, by state: pending or enqueued), so a stuck relay shows apart from
 * a slow worker. Two small queries per scrape; a failing backend makes the scrape fail loudly.
 */
export function createQueueMetricsCollector({ orm, queues }: { orm: Orm; queues: TaskQueues }): () => Promise<void> {
  return async () => {
    await Promise.all(
      QUEUE_NAMES.map(async (name) => {
        const counts = await queues[name].getJobCounts(...JOB_STATES);
        for (const state of JOB_STATES) queueDepth.set({ queue: name, state }, counts[state] ?? 0);
      }),
    );
    const rows = await findOldestDueTaskAges(orm.em.fork());
    for (const state of WAITING_STATES) {
      const oldest = Object.fromEntries(QUEUE_NAMES.map((name) => [name, 0])) as Record<QueueName, number>;
      for (const row of rows.filter((r) => r.state === state)) {
        const queue = TASK_DEFINITIONS[row.type].queue;
        oldest[queue] = Math.max(oldest[queue], row.ageSeconds);
      }
      for (const name of QUEUE_NAMES) oldestWaitingSeconds.set({ queue: name, state }, oldest[name]);
    }
  };
}
