import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import { shown, StartupError, type Config } from './config.ts';
import type { Logger } from './log.ts';
import { probeDatabaseUrl, provideDatabase, type DatabaseHandle } from './store/database.ts';
import { migrate, openOrm, pendingMigrations, type Orm } from './store/orm.ts';

/**
 * The two things every command does with the environment before its work: open the database
 * (every command) and listen (the long-running ones). A failure of either is the environment's,
 * so it becomes a StartupError naming the variable, which the CLI prints as one line.
 */
export interface Store {
  database: DatabaseHandle;
  orm: Orm;
  /** Migrations this start applied. */
  applied: string[];
  close(): Promise<void>;
}

/** How long the first connection may take before DATABASE_URL counts as unreachable (a dropped SYN waits minutes). */
const CONNECT_TIMEOUT_MS = 10_000;

export interface OpenStoreOptions {
  poolMax?: number;
  /**
   * 'always' (the default: servers, workers, `turnover migrate`) runs the migrator under its lock.
   * 'when-behind' (one-shot commands) reads the migrations table first and runs the migrator only
   * if something is pending: against a running server's database, the schema is current and the
   * command goes straight to its write.
   */
  migrate?: 'always' | 'when-behind';
}

export async function openStore(config: Config, logger: Logger, options: OpenStoreOptions = {}): Promise<Store> {
  // The subject is the variable that chose the database: DATABASE_URL, or DATA_DIR for the embedded one.
  const subject = config.databaseUrl
    ? `${shown('DATABASE_URL', config.databaseUrl)}: cannot connect`
    : `${shown('DATA_DIR', config.dataDir)}: the embedded PostgreSQL did not start`;
  let database: DatabaseHandle;
  try {
    database = await provideDatabase(config, logger);
  } catch (error) {
    throw new StartupError(subject, error);
  }
  let orm: Orm | undefined;
  try {
    // One plain connection first: whatever fails here is the address, the credentials or the
    // database name, not the schema or a migration (those keep their own errors below).
    await probe(database.url).catch((error: unknown) => {
      throw new StartupError(subject, error);
    });
    orm = await openOrm({ databaseUrl: database.url, logger, ...(options.poolMax ? { poolMax: options.poolMax } : {}) });
    const behind = options.migrate === 'when-behind' ? (await pendingMigrations(orm)).length > 0 : true;
    const applied = behind ? await migrate(orm, database.url) : [];
    const opened = orm;
    return {
      database,
      orm: opened,
      applied,
      close: async () => {
        await opened.close(true);
        await database.stop();
      },
    };
  } catch (error) {
    await orm?.close(true).catch(() => undefined);
    await database.stop().catch(() => undefined);
    throw error;
  }
}

const probe = (url: string) => probeDatabaseUrl(url, CONNECT_TIMEOUT_MS);

/** Errors of the address itself (a name that does not resolve, an address not on this host): HOST's. The rest: the port's. */
const HOST_ERRORS = new Set(['ENOTFOUND', 'EAI_AGAIN', 'EAI_FAIL', 'EAI_NONAME', 'EADDRNOTAVAIL', 'EAFNOSUPPORT']);

/** Listens on host:port; `portVariable` is the variable the port came from (PORT or WORKER_PORT). */
export async function listen(server: http.Server, host: string, port: number, portVariable: string): Promise<AddressInfo> {
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? '';
    throw new StartupError(
      HOST_ERRORS.has(code) ? `${shown('HOST', host)}: cannot listen there` : `${shown(portVariable, port)}: cannot listen on it at ${shown('HOST', host)}`,
      error,
    );
  }
  return server.address() as AddressInfo;
}
