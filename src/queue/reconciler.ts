import type { Logger } from '../log.ts';
import type { TaskType } from '../lifecycle/tasks.ts';
import type { Orm } from '../store/orm.ts';
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
    const conn = orm.em.fork().getConnection();
    const rows = await conn.execute<{ id: string; type: TaskType; tenant_id: string }[]>(
      `select id, type, tenant_id from tasks
        where state in ('enqueued', 'running', 'waiting_for_device')
          and updated_at < now() - make_interval(secs => ?)
        order by updated_at limit 1000`,
      [graceSeconds],
    );
    let requeued = 0;
    let failed = 0;
    for (const row of rows) {
      const { queue } = jobFor({ id: row.id, type: row.type, tenantId: row.tenant_id });
      const job = await queues[queue].getJob(row.id);
      const state = job ? await job.getState() : 'missing';
      if (state === 'missing' || state === 'unknown') {
        const moved = await conn.execute(
          `update tasks set state = 'pending', updated_at = now() where id = ? and state in ('enqueued', 'running', 'waiting_for_device')`,
          [row.id],
          'run',
        );
        requeued += Number((moved as { affectedRows?: number }).affectedRows ?? 0);
      } else if (state === 'failed' && job) {
        const moved = await conn.execute(
          `update tasks set state = 'failed', last_error = coalesce(?, last_error), finished_at = now(), updated_at = now()
            where id = ? and state in ('enqueued', 'running')`,
          [job.failedReason ?? null, row.id],
          'run',
        );
        failed += Number((moved as { affectedRows?: number }).affectedRows ?? 0);
      }
    }
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
