import {
  createPostgresBackend,
  Queue,
  runMigrations,
  withBackend,
  Worker,
  type Processor,
  type QueueOptions,
  type WorkerOptions,
} from 'bullmq';
import pg from 'pg';
import type { RedisClusterConfig } from '../config.ts';
import { describeRedis, openRedis, redisTarget, type RedisTarget } from './redis-connection.ts';

/**
 * The only module that knows which datastore carries the jobs. REDIS_URL or REDIS_CLUSTER_NODES
 * set: BullMQ on Redis, one server or a Redis Cluster (the high-throughput backend). Neither:
 * BullMQ's PostgreSQL backend in the `bullmq` schema of the
 * store's own database, so a single PostgreSQL is all turnover needs. Everything else asks this
 * module for queues and workers and never learns which one it got.
 */
export type QueueBackendKind = 'redis' | 'postgres';

export interface QueueBackend {
  readonly kind: QueueBackendKind;
  /** Where the queues live, for logs and /readyz (no credentials). */
  readonly description: string;
  createQueue<Data = unknown, Result = unknown>(name: string, options?: QueueTuning): Queue<Data, Result>;
  createWorker<Data = unknown, Result = unknown>(
    name: string,
    processor: Processor<Data, Result>,
    options?: WorkerTuning,
  ): Worker<Data, Result>;
  /** Resolves when the datastore answers; rejects with the reason otherwise. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export type QueueTuning = Pick<QueueOptions, 'defaultJobOptions'>;

/**
 * Job history lives in the task rows; the queue keeps finished jobs only for the dashboard.
 * Failed jobs stay a week on both backends so an operator can still read them there. Completed
 * ones: Redis trims its recent ones cheaply; on PostgreSQL, trimming by count runs on every
 * completion and cost 60% of the throughput of 7,000 resets (55/s against 198/s removing each
 * completed job at once, bench/jobs.ts), so completed jobs go at once there.
 */
const FAILED_RETENTION = { age: 7 * 86_400 };
const REDIS_JOB_RETENTION = { removeOnComplete: { age: 3600, count: 5000 }, removeOnFail: FAILED_RETENTION };
const POSTGRES_JOB_RETENTION = { removeOnComplete: true, removeOnFail: FAILED_RETENTION };
export type WorkerTuning = Omit<WorkerOptions, 'connection' | 'prefix' | 'autorun'> & { autorun?: boolean };

export interface QueueBackendOptions {
  redisUrl: string | undefined;
  /** Set: a Redis Cluster (it wins over redisUrl; config refuses both at once). */
  redisCluster?: RedisClusterConfig | undefined;
  databaseUrl: string;
  /** Redis key prefix. The braces make it a hash tag so every key of a queue lands on one Redis Cluster slot. */
  prefix: string;
  /** PostgreSQL schema of the jobs tables. */
  schema?: string;
  /**
   * A queue's connection errors (Redis gone, PostgreSQL restarting). A BullMQ Queue without an
   * error listener prints the raw error, connection parameters and all, on stderr.
   */
  onError?: (error: unknown, queue: string) => void;
}

export async function createQueueBackend(options: QueueBackendOptions): Promise<QueueBackend> {
  const redis = redisTarget(options.redisUrl, options.redisCluster);
  return redis ? createRedisQueueBackend(redis, options.prefix, options.onError ?? ignore) : createPostgresQueueBackend(options);
}

const ignore = () => {};

function createRedisQueueBackend(target: RedisTarget, prefix: string, onError: (error: unknown, queue: string) => void): QueueBackend {
  // One shared connection for producers; BullMQ duplicates it for each worker's blocking reads
  // (on a cluster too: it duplicates the Cluster client). maxRetriesPerRequest null: a worker must
  // wait out a Redis restart or a cluster failover, not throw.
  const redis = openRedis(target, { maxRetriesPerRequest: null });
  redis.on('error', () => {}); // surfaced through ping() and BullMQ's own error events
  const closables: Array<{ close(): Promise<void> }> = [];
  return {
    kind: 'redis',
    description: `${describeRedis(target)} prefix ${prefix}`,
    createQueue<Data, Result>(name: string, tuning: QueueTuning = {}) {
      const queue = new Queue<Data, Result>(name, {
        connection: redis,
        prefix,
        ...tuning,
        defaultJobOptions: { ...REDIS_JOB_RETENTION, ...tuning.defaultJobOptions },
      });
      queue.on('error', (error) => onError(error, name));
      closables.push(queue);
      return queue;
    },
    createWorker<Data, Result>(name: string, processor: Processor<Data, Result>, tuning: WorkerTuning = {}) {
      const worker = new Worker<Data, Result>(name, processor, { connection: redis, prefix, ...tuning });
      closables.push(worker);
      return worker;
    },
    async ping() {
      if ('cluster' in target) {
        // Any node answers PING; a read of a key in the queues' slot needs the primary that carries them.
        await withTimeout(redis.exists(`${prefix}:readyz`), 2000, 'the redis cluster node holding the queues did not answer');
        return;
      }
      const answer = await withTimeout(redis.ping(), 2000, 'redis did not answer PING');
      if (answer !== 'PONG') throw new Error(`redis answered ${answer}`);
    },
    async close() {
      await Promise.allSettled(closables.map((c) => c.close()));
      redis.disconnect();
    },
  };
}

async function createPostgresQueueBackend({ databaseUrl, schema = 'bullmq', onError = ignore }: QueueBackendOptions): Promise<QueueBackend> {
  // Migrate the jobs schema once, here, on a dedicated session (BullMQ's migrator needs one for
  // its advisory lock), instead of letting every Queue and Worker check on connect.
  const migrator = new pg.Client({ connectionString: databaseUrl });
  await migrator.connect();
  try {
    await runMigrations(migrator, schema);
  } finally {
    await migrator.end();
  }
  const classes = withBackend(createPostgresBackend);
  // Each Queue/Worker owns a small pool plus one LISTEN connection; keep the pools small.
  // synchronous_commit=off for the queue's own tables only: the task rows are the system of record
  // and commit durably; a job state lost in a crash is a job the reconciler re-adds or a task the
  // runner finds already finished (a Redis queue is no more durable). It spares one WAL flush per
  // job finished, which is what bounded the PostgreSQL backend (bench/jobs.ts).
  const connection = { connectionString: databaseUrl, schema, max: 4, options: '-c synchronous_commit=off' };
  const probe = new pg.Pool({ connectionString: databaseUrl, max: 1 });
  probe.on('error', () => {});
  const closables: Array<{ close(): Promise<void> }> = [];
  const url = new URL(databaseUrl);
  return {
    kind: 'postgres',
    description: `postgres://${url.hostname}:${url.port || 5432}${url.pathname} schema ${schema}`,
    createQueue<Data, Result>(name: string, tuning: QueueTuning = {}) {
      const queue = new classes.Queue<Data, Result>(name, {
        connection,
        ...tuning,
        defaultJobOptions: { ...POSTGRES_JOB_RETENTION, ...tuning.defaultJobOptions },
      });
      queue.on('error', (error: unknown) => onError(error, name));
      closables.push(queue);
      return queue as unknown as Queue<Data, Result>;
    },
    createWorker<Data, Result>(name: string, processor: Processor<Data, Result>, tuning: WorkerTuning = {}) {
      const worker = new classes.Worker<Data, Result>(name, processor, { connection, ...tuning });
      closables.push(worker);
      return worker as unknown as Worker<Data, Result>;
    },
    async ping() {
      await withTimeout(probe.query(`select 1 from "${schema}".migration limit 1`), 2000, 'queue database did not answer');
    },
    async close() {
      await Promise.allSettled(closables.map((c) => c.close()));
      await probe.end();
    },
  };
}

function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(message)), ms);
    }),
  ]);
}
