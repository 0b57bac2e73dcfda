/**
 * Defaults for every setting turnover reads from the environment. src/config.ts validates the
 * environment against these; config/example.env documents them for operators.
 */
export const DEFAULTS = {
  PORT: 3000,
  /**
   * A worker (`turnover worker`) serves /healthz, /readyz and /metrics on WORKER_PORT, by default
   * PORT plus this, so it runs beside `turnover serve` on one host with the same environment.
   * WORKER_PORT=0: no listener.
   */
  WORKER_PORT_OFFSET: 1,
  HOST: '0.0.0.0',
  MAIL_FROM: 'turnover <no-reply@localhost>',
  LOG_LEVEL: 'info',
  /** Mail jobs one worker process runs at once (each holds an SMTP connection while it sends). */
  WORKER_CONCURRENCY: 8,
  /**
   * Lifecycle jobs one worker process holds at once. They are committed in batches (group commit),
   * so this bounds the batch size rather than the database connections in use.
   */
  LIFECYCLE_CONCURRENCY: 64,
  /** Embedded PostgreSQL files and .eml mail when no servers are configured. */
  DATA_DIR: '.data',
  /** Redis key prefix; the braces are a hash tag so a queue's keys share one Redis Cluster slot. */
  QUEUE_PREFIX: '{turnover}',
  /** How long shutdown waits for requests and running jobs before it cuts them. */
  SHUTDOWN_TIMEOUT_MS: 25_000,
  /** A job whose worker died is taken over after this long without a lock renewal. */
  JOB_LOCK_MS: 30_000,
  /** Days a SCIM request stays in the provisioning log (Entra keeps its provisioning logs 30 days). */
  PROVISIONING_LOG_DAYS: 30,
} as const;
