import type { Config } from '../config.ts';
import type { Logger } from '../log.ts';
import type { Mailer } from '../mail/transport.ts';
import type { QueueBackend } from '../queue/backend.ts';
import type { TaskQueues } from '../queue/task-queues.ts';
import type { ProvisioningLogWriter } from '../scim/provisioning-log-writer.ts';
import type { Orm } from '../store/orm.ts';
import type { SharedLimitStores } from './rate-limit-store.ts';

/** What every route group (SCIM, admin, client) is built from; main.ts assembles it once. */
export interface ApiContext {
  config: Config;
  logger: Logger;
  orm: Orm;
  /** The backend itself, for the queue dashboard; route code otherwise uses `queues`. */
  queue: QueueBackend;
  queues: TaskQueues;
  mailer: Mailer;
  provisioningLog: ProvisioningLogWriter;
  /** Rate-limit counters shared across API processes (Redis); per process when absent. */
  limits?: SharedLimitStores;
}
