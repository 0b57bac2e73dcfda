import pg from 'pg';
import type { Logger } from '../log.ts';
import type { Orm } from '../store/orm.ts';
import { listenForTaskChanges, lockDueTasks, markTasksEnqueued } from '../store/tasks.ts';
import { jobFor, type TaskQueues } from './task-queues.ts';

/**
 * The outbox relay: moves `pending` task rows whose run-at has come onto their BullMQ queue with
 * jobId = task id, then marks them `enqueued`, in one transaction that holds the rows (FOR UPDATE
 * SKIP LOCKED, so several relays share the work). If the process dies between the add and the
 * commit, the rows stay pending and are added again, which BullMQ ignores for a known jobId.
 *
 * It wakes on NOTIFY turnover_tasks (sent at commit by a trigger on tasks) and polls once a second
 * for scheduled tasks coming due.
 */

export interface Relay {
  /** Relays everything due now; resolves with how many tasks it moved. */
  runOnce(): Promise<number>;
  stop(): Promise<void>;
}

export function startRelay(options: {
  orm: Orm;
  databaseUrl: string;
  queues: TaskQueues;
  logger: Logger;
  batchSize?: number;
  pollMs?: number;
}): Relay {
  const { orm, queues, logger, batchSize = 1000, pollMs = 1000 } = options;
  let stopped = false;
  let running: Promise<number> | undefined;
  let again = false;

  async function relayBatch(): Promise<number> {
    return orm.em.fork().transactional(async (em) => {
      const rows = await lockDueTasks(em, batchSize);
      if (!rows.length) return 0;
      const byQueue = new Map<keyof TaskQueues, ReturnType<typeof jobFor>[]>();
      for (const row of rows) {
        const job = jobFor(row);
        byQueue.set(job.queue, [...(byQueue.get(job.queue) ?? []), job]);
      }
      for (const [queue, jobs] of byQueue) {
        await queues[queue].addBulk(jobs.map(({ name, data, opts }) => ({ name, data, opts })));
      }
      // Every row is locked by this transaction at the version read: all of them move.
      await markTasksEnqueued(em, rows);
      return rows.length;
    });
  }

  async function drain(): Promise<number> {
    let total = 0;
    for (;;) {
      const moved = await relayBatch();
      total += moved;
      if (moved < batchSize || stopped) return total;
    }
  }

  /** Coalesces wake-ups: one drain at a time, and one more if woken while draining. */
  function runOnce(): Promise<number> {
    if (running) {
      again = true;
      return running;
    }
    running = drain()
      .catch((error) => {
        logger.warn({ err: error }, 'relay: could not move pending tasks (will retry)');
        return 0;
      })
      .finally(() => {
        running = undefined;
        if (again && !stopped) {
          again = false;
          void runOnce();
        }
      });
    return running;
  }

  const timer = setInterval(() => void runOnce(), pollMs);
  timer.unref();

  // LISTEN on a dedicated connection; on loss, reconnect after a pause (the poll covers the gap).
  let listener: pg.Client | undefined;
  const listen = async () => {
    if (stopped) return;
    const client = new pg.Client({ connectionString: options.databaseUrl, keepAlive: true });
    client.on('notification', () => void runOnce());
    client.on('error', (error) => {
      logger.warn({ err: error }, 'relay: LISTEN connection lost');
      void client.end().catch(() => {});
      if (!stopped) setTimeout(() => void listen().catch(() => {}), 1000).unref();
    });
    try {
      await client.connect();
      await listenForTaskChanges(client);
      listener = client;
    } catch (error) {
      logger.warn({ err: error }, 'relay: could not LISTEN (polling only, retrying)');
      await client.end().catch(() => {});
      if (!stopped) setTimeout(() => void listen().catch(() => {}), 1000).unref();
    }
  };
  void listen();
  void runOnce();

  return {
    runOnce,
    async stop() {
      stopped = true;
      clearInterval(timer);
      await listener?.end().catch(() => {});
      await running;
    },
  };
}
