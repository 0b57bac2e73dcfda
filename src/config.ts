import path from 'node:path';
import { z } from 'zod';
import { DEFAULTS } from '../config/defaults.ts';

/**
 * Configuration comes from the environment only (12-factor). Everything is validated at start;
 * a bad value stops the process with one line naming the variable.
 */
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

const url = (protocols: string[]) =>
  z
    .string()
    .trim()
    .refine((v) => {
      try {
        return protocols.includes(new URL(v).protocol);
      } catch {
        return false;
      }
    }, `must be a URL starting with ${protocols.map((p) => `${p}//`).join(' or ')}`);

const emptyAsUndefined = (v: unknown) => (typeof v === 'string' && v.trim() === '' ? undefined : v);
const optional = <T extends z.ZodType>(schema: T) => z.preprocess(emptyAsUndefined, schema.optional());

const envSchema = z.object({
  PORT: z.preprocess(emptyAsUndefined, z.coerce.number().int().min(0).max(65535).default(DEFAULTS.PORT)),
  // Its default depends on PORT: loadConfig fills it in.
  WORKER_PORT: optional(z.coerce.number().int().min(0).max(65535)),
  HOST: z.preprocess(emptyAsUndefined, z.string().default(DEFAULTS.HOST)),
  PUBLIC_URL: optional(url(['http:', 'https:'])),
  DATABASE_URL: optional(url(['postgres:', 'postgresql:'])),
  REDIS_URL: optional(url(['redis:', 'rediss:'])),
  REDIS_CLUSTER_NODES: optional(z.string().transform(parseClusterNodes)),
  SMTP_URL: optional(url(['smtp:', 'smtps:'])),
  MAIL_FROM: z.preprocess(emptyAsUndefined, z.string().min(3).default(DEFAULTS.MAIL_FROM)),
  LOG_LEVEL: z.preprocess(emptyAsUndefined, z.enum(LOG_LEVELS).default(DEFAULTS.LOG_LEVEL)),
  WORKER_CONCURRENCY: z.preprocess(emptyAsUndefined, z.coerce.number().int().min(1).max(1000).default(DEFAULTS.WORKER_CONCURRENCY)),
  LIFECYCLE_CONCURRENCY: z.preprocess(emptyAsUndefined, z.coerce.number().int().min(1).max(1000).default(DEFAULTS.LIFECYCLE_CONCURRENCY)),
  DATA_DIR: z.preprocess(emptyAsUndefined, z.string().default(DEFAULTS.DATA_DIR)),
  QUEUE_PREFIX: z.preprocess(
    emptyAsUndefined,
    z.string().regex(/^[A-Za-z0-9_{}:-]+$/, 'letters, digits, _ - : { } only').default(DEFAULTS.QUEUE_PREFIX),
  ),
  SHUTDOWN_TIMEOUT_MS: z.preprocess(emptyAsUndefined, z.coerce.number().int().min(0).default(DEFAULTS.SHUTDOWN_TIMEOUT_MS)),
  JOB_LOCK_MS: z.preprocess(emptyAsUndefined, z.coerce.number().int().min(1000).max(600_000).default(DEFAULTS.JOB_LOCK_MS)),
  PROVISIONING_LOG_DAYS: z.preprocess(emptyAsUndefined, z.coerce.number().int().min(1).max(3650).default(DEFAULTS.PROVISIONING_LOG_DAYS)),
});

/** Every environment variable turnover reads. */
export const ENV_VARIABLES = Object.keys(envSchema.shape) as Array<keyof typeof envSchema.shape>;

export interface Config {
  /** The API's port (`start`, `serve`); 0: any free port. */
  port: number;
  /**
   * Where a process without the API (`worker`) serves /healthz, /readyz and /metrics: by default
   * the port after PORT, so a worker runs beside `serve` on one host with the same environment.
   * 0: any free port (PORT=0 leads to it); null: no listener (WORKER_PORT=0).
   */
  workerPort: number | null;
  host: string;
  /** Where people reach the service; links in emails point here. */
  publicUrl: string;
  /** PUBLIC_URL is unset and publicUrl was derived from PORT: the CLI says so beside a link it prints. */
  publicUrlFromPort: boolean;
  /** Unset: an embedded PostgreSQL under dataDir. */
  databaseUrl: string | undefined;
  /** Set: BullMQ on one Redis server. Neither this nor redisCluster: BullMQ's PostgreSQL backend on the same database. */
  redisUrl: string | undefined;
  /** Set: BullMQ on a Redis Cluster reached through these seed nodes (REDIS_CLUSTER_NODES). */
  redisCluster: RedisClusterConfig | undefined;
  /** Unset: mail is written as .eml files under dataDir/mail. */
  smtpUrl: string | undefined;
  mailFrom: string;
  logLevel: (typeof LOG_LEVELS)[number];
  /** Mail queue jobs at once per process. */
  workerConcurrency: number;
  /** Lifecycle queue jobs at once per process (committed in batches). */
  lifecycleConcurrency: number;
  dataDir: string;
  queuePrefix: string;
  shutdownTimeoutMs: number;
  /** A job whose worker stops renewing its lock this long is taken over by another worker. */
  jobLockMs: number;
  /** Days a SCIM request stays in the provisioning log; older rows are pruned daily. */
  provisioningLogDays: number;
}

/** A Redis Cluster: the nodes turnover asks for the slot map (any few of the cluster's), and how to log in. */
export interface RedisClusterConfig {
  nodes: Array<{ host: string; port: number }>;
  username?: string;
  password?: string;
  /** rediss:// entries: every node is reached over TLS. */
  tls: boolean;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const variable = String(issue.path[0] ?? 'environment');
    const shown = env[variable] === undefined ? '' : ` (got ${JSON.stringify(redact(variable, env[variable]!))})`;
    throw new ConfigError(`invalid ${variable}: ${issue.message}${shown}`);
  }
  const e = parsed.data;
  if (e.REDIS_URL && e.REDIS_CLUSTER_NODES) {
    throw new ConfigError('invalid REDIS_CLUSTER_NODES: set REDIS_URL (one Redis server) or REDIS_CLUSTER_NODES (a Redis Cluster), not both');
  }
  if (e.REDIS_CLUSTER_NODES && !/\{[^{}]+\}/.test(e.QUEUE_PREFIX)) {
    // Without a hash tag a queue's keys spread over slots and every BullMQ script fails with CROSSSLOT.
    throw new ConfigError(`invalid QUEUE_PREFIX: on a Redis Cluster it must hold a hash tag such as {turnover}, so a queue's keys share one slot (got ${JSON.stringify(e.QUEUE_PREFIX)})`);
  }
  return {
    port: e.PORT,
    workerPort: workerPort(e.PORT, e.WORKER_PORT),
    host: e.HOST,
    publicUrl: (e.PUBLIC_URL ?? `http://localhost:${e.PORT}`).replace(/\/+$/, ''),
    publicUrlFromPort: e.PUBLIC_URL === undefined,
    databaseUrl: e.DATABASE_URL,
    redisUrl: e.REDIS_URL,
    redisCluster: e.REDIS_CLUSTER_NODES,
    smtpUrl: e.SMTP_URL,
    mailFrom: e.MAIL_FROM,
    logLevel: e.LOG_LEVEL,
    workerConcurrency: e.WORKER_CONCURRENCY,
    lifecycleConcurrency: e.LIFECYCLE_CONCURRENCY,
    dataDir: path.resolve(e.DATA_DIR),
    queuePrefix: e.QUEUE_PREFIX,
    shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_MS,
    jobLockMs: e.JOB_LOCK_MS,
    provisioningLogDays: e.PROVISIONING_LOG_DAYS,
  };
}

/**
 * REDIS_CLUSTER_NODES: comma-separated `host:port` entries (`[::1]:7000` for IPv6), or
 * `redis://` / `rediss://` URLs where a password or TLS is needed
 * (`rediss://:secret@10.0.0.1:6379,10.0.0.2:6379`). Credentials and TLS apply to every node, so the
 * entries written as URLs must agree on them; bare entries take them from those.
 */
function parseClusterNodes(value: string, context: z.RefinementCtx): RedisClusterConfig {
  const fail = (message: string) => {
    context.addIssue({ code: 'custom', message });
    return z.NEVER;
  };
  const entries = value.split(',').map((entry) => entry.trim()).filter((entry) => entry !== '');
  if (!entries.length) return fail('must list at least one host:port');
  const nodes: RedisClusterConfig['nodes'] = [];
  let login: { scheme: string; username: string; password: string } | undefined;
  for (const entry of entries) {
    const written = /^[a-z][a-z0-9+.-]*:\/\//i.test(entry);
    let parsed: URL;
    try {
      parsed = new URL(written ? entry : `redis://${entry}`);
    } catch {
      return fail(`${redact('_URL', entry)} is not host:port or a redis:// URL`);
    }
    if (!['redis:', 'rediss:'].includes(parsed.protocol)) return fail(`${redact('_URL', entry)}: a URL entry must start with redis:// or rediss://`);
    if (!parsed.hostname || !parsed.port) return fail(`${redact('_URL', entry)}: every entry needs a host and a port (host:port)`);
    if ((parsed.pathname !== '' && parsed.pathname !== '/') || parsed.search) {
      return fail(`${redact('_URL', entry)}: a cluster has no database number or options in its URL (database 0 only)`);
    }
    nodes.push({ host: parsed.hostname.replace(/^\[(.*)\]$/, '$1'), port: Number(parsed.port) });
    if (!written) continue;
    const given = { scheme: parsed.protocol, username: decodeURIComponent(parsed.username), password: decodeURIComponent(parsed.password) };
    if (login && (login.scheme !== given.scheme || login.username !== given.username || login.password !== given.password)) {
      return fail('the entries written as URLs must agree on scheme, user and password (they apply to every node)');
    }
    login = given;
  }
  return {
    nodes,
    ...(login?.username ? { username: login.username } : {}),
    ...(login?.password ? { password: login.password } : {}),
    tls: login?.scheme === 'rediss:',
  };
}

function workerPort(port: number, set: number | undefined): number | null {
  if (set !== undefined) return set === 0 ? null : set;
  if (port === 0) return 0;
  const derived = port + DEFAULTS.WORKER_PORT_OFFSET;
  if (derived > 65535) throw new ConfigError(`invalid WORKER_PORT: its default PORT+${DEFAULTS.WORKER_PORT_OFFSET} is ${derived}, above 65535: set WORKER_PORT`);
  return derived;
}

/**
 * A value that passed validation but did not work at start: a database that cannot be reached,
 * an address that cannot be listened on. `subject` names the variable and its value; the message
 * is one line with the cause, for the CLI to print without a stack.
 */
export class StartupError extends Error {
  override name = 'StartupError';
  constructor(subject: string, cause: unknown) {
    super(`${subject} (${describeCause(cause)})`, { cause });
  }
}

/** `VARIABLE=value` for a message, with any password in a URL masked. */
export function shown(variable: string, value: string | number): string {
  return `${variable}=${redact(variable, String(value))}`;
}

/** One line for an error from Node or pg: its message, its code, or those of the attempts inside it. */
function describeCause(cause: unknown): string {
  if (cause instanceof AggregateError && !cause.message && cause.errors.length) {
    // Node tries each address of a name (::1, then 127.0.0.1) and reports them all this way.
    return [...new Set(cause.errors.map(describeCause))].join('; ');
  }
  const error = cause as { message?: string; code?: string } | null | undefined;
  return (error?.message || error?.code || String(cause)).split('\n')[0]!;
}

/** Never echo a password back into logs. */
function redact(variable: string, value: string): string {
  if (!variable.endsWith('_URL') && variable !== 'REDIS_CLUSTER_NODES') return value;
  return value.replace(/\/\/([^:@/]*):[^@/]*@/g, '//$1:***@');
}
