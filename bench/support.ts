import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { loadConfig } from '../src/config.ts';
import type { Logger } from '../src/log.ts';
import { startRuntime, type Roles, type Runtime } from '../src/main.ts';
import { ensureDatabase, startEmbeddedPostgres, type DatabaseHandle } from '../src/store/database.ts';

/** The PostgreSQL a bench runs on: DATABASE_URL's server, or an embedded one in a temporary folder. */
export async function benchServer(name: string, logger: Logger): Promise<{ handle: DatabaseHandle; cleanup: () => Promise<void> }> {
  if (process.env.DATABASE_URL) return { handle: { url: process.env.DATABASE_URL, embedded: false, stop: async () => {} }, cleanup: async () => {} };
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), `turnover-bench-${name}-`));
  await fs.chmod(dir, 0o755);
  const handle = await startEmbeddedPostgres({ dir: path.join(dir, 'data'), database: 'postgres', logger });
  return {
    handle,
    cleanup: async () => {
      await handle.stop();
      await fs.rm(dir, { recursive: true, force: true });
    },
  };
}

/** p50 and p99 of `runs` sequential timings of `fn`, in milliseconds (after `warmup` untimed runs). */
export async function percentiles(runs: number, fn: () => Promise<unknown>, warmup = 5): Promise<{ p50: number; p99: number }> {
  for (let i = 0; i < warmup; i++) await fn();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const started = performance.now();
    await fn();
    times.push(performance.now() - started);
  }
  times.sort((a, b) => a - b);
  const at = (q: number) => times[Math.min(times.length - 1, Math.ceil(q * times.length) - 1)]!;
  return { p50: at(0.5), p99: at(0.99) };
}

/**
 * A turnover runtime on a database of its own on `serverUrl`, a plain client on that database for
 * fixtures and checks, and the default tenant's id. `close()` stops both.
 */
export async function openBench(
  serverUrl: string,
  label: string,
  env: Record<string, string | undefined>,
  roles: Roles,
  logger: Logger,
): Promise<{ runtime: Runtime; client: pg.Client; tenantId: string; close: () => Promise<void> }> {
  const dbName = `turnover_bench_${label}_${randomBytes(3).toString('hex')}`;
  const url = new URL(serverUrl);
  url.pathname = `/${dbName}`;
  await ensureDatabase(url.toString(), dbName);
  const runtime = await startRuntime(
    loadConfig({ PORT: '0', HOST: '127.0.0.1', DATABASE_URL: url.toString(), LOG_LEVEL: 'warn', QUEUE_PREFIX: `{bench-${dbName}}`, ...env }),
    roles,
    logger,
  );
  const client = new pg.Client({ connectionString: url.toString() });
  await client.connect();
  const [{ id: tenantId }] = (await client.query(`select id from tenants where name = 'default'`)).rows as [{ id: string }];
  return {
    runtime,
    client,
    tenantId,
    close: async () => {
      await client.end();
      await runtime.stop();
    },
  };
}
