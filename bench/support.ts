import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Logger } from '../src/log.ts';
import { startEmbeddedPostgres, type DatabaseHandle } from '../src/store/database.ts';

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
