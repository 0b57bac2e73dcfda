import type { Logger } from '../log.ts';
import type { Orm } from '../store/orm.ts';
import { findTasksToReconcile, recordTaskFailure, requeueVanishedTasks, type TaskRef } from '../store/tasks.ts';
import { jobFor, type TaskQueues } from './task-queues.ts';

/**
 * Repairs the gap between the task rows (the truth) and the queue (a cache of work to do):
 * a task the database says is queued or running but whose job is gone (Redis restarted without
 * persistence, or was wiped) goes back to `pending`, and the relay adds it again. A job that
 * BullMQ failed for good while its task row missed the news is marked failed.
 */
export function startReconciler(options: { orm: Orm; queues: TaskQueues; logger: Logger; intervalMs?: number; graceSeconds?: number }) {
  const { orm, queues, logger, intervalMs = 30_000, graceSeconds = 30 } = options;

  async function reconcileOnce(): Promise<{ requeued: number; failed: number }> {
    const em = orm.em.fork();
    const rows = await findTasksToReconcile(em, { graceSeconds, limit: 1000 });
    const vanished: TaskRef[] = [];
    let failed = 0;
    // Each write is guarded by the version read here: a task that moved on since is left alone.
    for (const row of rows) {
      const { queue } = jobFor(row);
      const job = await queues[queue].getJob(row.id);
      const state = job ? await job.getState() : 'missing';
      if (state === 'missing' || state === 'unknown') vanished.push(row);
      else if (state === 'failed' && job) {
        const moved = await recordTaskFailure(em, row, { from: ['enqueued', 'running'], retry: false, error: job.failedReason ?? null });
        if (moved !== null) failed++;
      }
    }
    const requeued = await requeueVanishedTasks(em, vanished);
    if (requeued || failed) logger.warn({ requeued, failed }, 'reconciler: repaired tasks whose queue state was lost');
    return { requeued, failed };
  }

  let running: Promise<unknown> | undefined;
  const tick = () => {
    running ??= reconcileOnce()
      .catch((error) => logger.warn({ err: error }, 'reconciler: pass failed (will retry)'))
      .finally(() => (running = undefined));
  };
  const timer = setInterval(tick, intervalMs);
  timer.unref();
  return {
    reconcileOnce,
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
