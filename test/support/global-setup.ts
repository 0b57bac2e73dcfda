import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { runMigrations } from 'bullmq';
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { createLogger } from '../../src/log.ts';
import { ensureDatabase, freePort, startEmbeddedPostgres, type DatabaseHandle } from '../../src/store/database.ts';
import { migrate, openOrm } from '../../src/store/orm.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    /** A migrated database to clone with CREATE DATABASE ... TEMPLATE. */
    templateDatabaseUrl: string;
    /** Empty when the run has no Redis: queue tests then run on the PostgreSQL backend only. */
    redisUrl: string;
  }
}

/**
 * Test infrastructure for the whole run: DATABASE_URL when given, else an embedded PostgreSQL in
 * a temporary directory; REDIS_URL when given, else a redis-server started on a free port when
 * one is on PATH.
 */
export default async function setup(project: TestProject) {
  const logger = createLogger(process.env.TEST_LOG_LEVEL ?? 'warn');
  const teardown: Array<() => Promise<void>> = [];

  let server: DatabaseHandle;
  if (process.env.DATABASE_URL) {
    server = { url: process.env.DATABASE_URL, embedded: false, stop: async () => {} };
  } else {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'turnover-test-pg-'));
    // The embedded server runs as the `postgres` system user when we are root.
    await fs.chmod(dir, 0o755);
    server = await startEmbeddedPostgres({ dir: path.join(dir, 'data'), database: 'postgres', logger });
    teardown.push(async () => {
      await server.stop();
      await fs.rm(dir, { recursive: true, force: true });
    });
  }

  const template = `turnover_template_${process.pid}`;
  const templateUrl = withDatabase(server.url, template);
  await dropDatabase(server.url, template);
  await ensureDatabase(templateUrl, template);
  const orm = await openOrm({ databaseUrl: templateUrl, poolMax: 1 });
  await migrate(orm, templateUrl);
  await orm.close(true);
  const client = new pg.Client({ connectionString: templateUrl });
  await client.connect();
  await runMigrations(client, 'bullmq');
  await client.end();
  teardown.push(() => dropDatabase(server.url, template));
  project.provide('templateDatabaseUrl', templateUrl);

  let redisUrl = process.env.REDIS_URL ?? '';
  if (!redisUrl && spawnSync('redis-server', ['--version']).status === 0) {
    const port = await freePort();
    const redis: ChildProcess = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
      stdio: 'ignore',
    });
    await waitForPort(port);
    redisUrl = `redis://127.0.0.1:${port}`;
    teardown.push(async () => void redis.kill('SIGTERM'));
  }
  project.provide('redisUrl', redisUrl);

  return async () => {
    for (const step of teardown.reverse()) await step().catch((error) => console.error('teardown:', error));
  };
}

export function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

async function dropDatabase(serverUrl: string, database: string): Promise<void> {
  const client = new pg.Client({ connectionString: withDatabase(serverUrl, 'postgres') });
  await client.connect();
  try {
    await client.query(`drop database if exists "${database}" with (force)`);
  } finally {
    await client.end();
  }
}

async function waitForPort(port: number): Promise<void> {
  const net = await import('node:net');
  for (let i = 0; i < 100; i++) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect({ port, host: '127.0.0.1' }, () => {
        s.destroy();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`nothing listens on ${port}`);
}
