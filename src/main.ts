import http from 'node:http';
import type { Config } from './config.ts';
import { createApp } from './http/app.ts';
import { answerClientError } from './http/client-error.ts';
import { sharedLimitStores } from './http/rate-limit-store.ts';
import type { Logger } from './log.ts';
import { createMailer, type Mailer } from './mail/transport.ts';
import { PROCESSORS } from '../jobs/index.ts';
import { createQueueBackend, type QueueBackend } from './queue/backend.ts';
import { redisTarget } from './queue/redis-connection.ts';
import type { TaskProcessors } from './queue/processor.ts';
import { startReconciler } from './queue/reconciler.ts';
import { startRelay } from './queue/relay.ts';
import { installSchedules } from './queue/schedules.ts';
import { openTaskQueues, type TaskQueues } from './queue/task-queues.ts';
import { startWorkers } from './queue/workers.ts';
import { createProvisioningLogWriter } from './scim/provisioning-log-writer.ts';
import { createQueueMetricsCollector } from './queue/metrics.ts';
import { listen, openStore } from './startup.ts';
import type { DatabaseHandle } from './store/database.ts';
import { pingDatabase, type Orm } from './store/orm.ts';
import { ensureDefaultTenant } from './store/tenants.ts';

/**
 * The composition root: opens the store, the queue backend and the mailer once, and starts the
 * parts a command asks for. `start` runs all of them in one process; `serve` and `worker` split
 * them so each scales on its own.
 */
export interface Roles {
  api: boolean;
  relay: boolean;
  workers: boolean;
}

export interface Runtime {
  config: Config;
  database: DatabaseHandle;
  orm: Orm;
  queue: QueueBackend;
  queues: TaskQueues;
  mailer: Mailer;
  /** Where this process listens (the API, or a worker's health endpoints); unset with WORKER_PORT=0. */
  url?: string;
  stop(): Promise<void>;
}

export interface RuntimeOptions {
  /** Tests swap in their own processors; production uses jobs/index.ts. */
  processors?: TaskProcessors;
  /** Tests shorten the reconciler's pass interval and grace period. */
  reconciler?: { intervalMs?: number; graceSeconds?: number };
}

export async function startRuntime(config: Config, roles: Roles, logger: Logger, options: RuntimeOptions = {}): Promise<Runtime> {
  const started = Date.now();
  const stops: Array<() => Promise<void> | void> = [];
  const stopAll = async () => {
    // Reverse order of start: stop taking work first, close the store last.
    for (const stop of stops.reverse()) {
      try {
        await stop();
      } catch (error) {
        logger.warn({ err: error }, 'error while stopping');
      }
    }
    stops.length = 0;
  };

  try {
    const { database, orm, applied, close } = await openStore(config, logger);
    stops.push(close);
    if (applied.length) logger.info({ applied }, 'migrations applied');
    await ensureDefaultTenant(orm.em.fork());

    const queue = await createQueueBackend({
      redisUrl: config.redisUrl,
      redisCluster: config.redisCluster,
      databaseUrl: database.url,
      prefix: config.queuePrefix,
      onError: (error, name) => logger.warn({ err: error, queue: name }, 'queue connection error'),
    });
    stops.push(() => queue.close());

    const mailer = createMailer(config, logger);
    stops.push(() => mailer.close());

    const queues = openTaskQueues(queue);
    if (roles.relay) {
      const relay = startRelay({ orm, databaseUrl: database.url, queues, logger });
      const reconciler = startReconciler({ orm, queues, logger, ...options.reconciler });
      await installSchedules(queues);
      stops.push(() => relay.stop(), () => reconciler.stop());
    }
    if (roles.workers) {
      const workers = startWorkers(
        queue,
        { orm, processors: options.processors ?? PROCESSORS, mailer, publicUrl: config.publicUrl, logger },
        { concurrency: { lifecycle: config.lifecycleConcurrency, mail: config.workerConcurrency }, lockMs: config.jobLockMs, provisioningLogDays: config.provisioningLogDays },
      );
      // Stopped before the queue backend closes: running jobs finish first.
      stops.push(() => workers.close());
    }

    const limits = roles.api ? sharedLimitStores(redisTarget(config.redisUrl, config.redisCluster), config.queuePrefix) : undefined;
    if (limits) stops.push(() => limits.close());
    // Closed after the HTTP server (stops run in reverse): the last requests' rows are written.
    const provisioningLog = roles.api ? createProvisioningLogWriter({ orm, logger }) : undefined;
    if (provisioningLog) stops.push(() => provisioningLog.close());

    const runtime: Runtime = { config, database, orm, queue, queues, mailer, stop: stopAll };

    // The API serves everything on PORT. A process without it serves only /healthz, /readyz (and
    // metrics) on WORKER_PORT, so orchestrators probe workers the same way without a clash with
    // the API beside them on one host; WORKER_PORT=0 leaves it without a listener.
    const port = roles.api ? config.port : config.workerPort;
    if (port !== null) {
      const app = createApp({
        logger,
        beforeScrape: createQueueMetricsCollector({ orm, queues }),
        ...(roles.api && provisioningLog ? { api: { config, logger, orm, queue, queues, mailer, provisioningLog, ...(limits ? { limits } : {}) } } : {}),
        readiness: [
          { name: 'database', check: () => pingDatabase(orm) },
          { name: 'queue', check: () => queue.ping() },
        ],
      });
      const server = http.createServer(app);
      server.on('clientError', answerClientError);
      server.keepAliveTimeout = 65_000; // longer than common load balancers' idle timeout
      const address = await listen(server, config.host, port, roles.api ? 'PORT' : 'WORKER_PORT');
      runtime.url = `http://127.0.0.1:${address.port}`;
      stops.push(() => closeServer(server, config.shutdownTimeoutMs));
    }

    logger.info(
      {
        roles,
        url: runtime.url,
        database: database.embedded ? 'embedded' : 'external',
        queue: queue.description,
        mail: mailer.description,
        ms: Date.now() - started,
      },
      'turnover started',
    );
    return runtime;
  } catch (error) {
    await stopAll();
    throw error;
  }
}

/** Stop accepting, let requests in flight finish, then cut what is left at the deadline. */
function closeServer(server: http.Server, timeoutMs: number): Promise<void> {
  return new Promise((resolve) => {
    const deadline = setTimeout(() => server.closeAllConnections(), timeoutMs);
    deadline.unref();
    server.close(() => {
      clearTimeout(deadline);
      resolve();
    });
    server.closeIdleConnections();
  });
}
