/**
 * How long the one-shot commands take, as an operator scripting token rotation runs them: each is
 * a fresh `node bin/turnover.js …` process against a database a running server has already
 * migrated, so the figure is start-up + connect + write + exit. Prints each command's median and
 * max wall time over 5 runs, and the target (median under 1.5 s).
 *
 *   npm run bench:cli                      # an embedded PostgreSQL in a temporary folder
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres npm run bench:cli
 *                                          # a fresh database on that server
 *
 * Figures on the 2-core dev machine, DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres,
 * median (max) of 5, the machine shared with other work, so runs differ by ±150 ms:
 *   before (every one-shot command ran the migrator: its advisory lock, its table check and diff;
 *   cli.ts loaded every store module at start):
 *     token create 1116 (1318) / 1243 (1504) ms, token revoke 1207 (1378) / 1140 (1575) ms,
 *     operator create 1190 (1203) / 1081 (1828) ms
 *   after (one read of the migrations table; each command imports the store modules it uses):
 *     token create 1036 (1118) / 1043 (1453) / 1095 (1451) ms, token revoke 1026 (1116) / 847 (1416)
 *     / 1116 (1418) ms, operator create 1093 (1125) / 955 (1367) / 1237 (1466) ms
 * What is left is module loading (node --cpu-prof: MikroORM, knex, zod, pino, and the CJS loader
 * under tsx's hooks, ~0.8 s of the ~1 s); a precompiled bundle of src/cli.ts measured no faster.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import pg from 'pg';
import { createLogger } from '../src/log.ts';
import { ensureDatabase } from '../src/store/database.ts';
import { benchServer } from './support.ts';

const run = promisify(execFile);
const ROOT = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
const BIN = path.join(ROOT, 'bin', 'turnover.js');
const RUNS = 5;
const TARGET_MS = 1500;

const logger = createLogger('warn');
const { handle, cleanup } = await benchServer('cli', logger);
const dbName = `turnover_bench_cli_${randomBytes(3).toString('hex')}`;
const url = new URL(handle.url);
url.pathname = `/${dbName}`;
await ensureDatabase(url.toString(), dbName);

// The environment the server runs with; every command gets the same.
const env: NodeJS.ProcessEnv = { ...process.env, DATABASE_URL: url.toString(), PUBLIC_URL: 'http://localhost:8080', LOG_LEVEL: 'warn' };
const cli = async (args: string[]) => {
  const started = performance.now();
  const { stdout } = await run(process.execPath, [BIN, ...args], { env, cwd: ROOT });
  return { ms: performance.now() - started, last: stdout.trim().split('\n').at(-1)! };
};

try {
  // As a running server would have left it.
  await cli(['migrate']);
  const times: Record<string, number[]> = { 'token create': [], 'token revoke': [], 'operator create': [] };
  for (let i = 0; i < RUNS; i++) {
    const created = await cli(['token', 'create', '--kind', 'scim']);
    times['token create']!.push(created.ms);
    times['token revoke']!.push((await cli(['token', 'revoke', created.last])).ms);
    times['operator create']!.push((await cli(['operator', 'create', '--user-name', `u${i}`, '--email', `u${i}@example.org`, '--role', 'admin'])).ms);
  }
  console.log(`one-shot commands, ${RUNS} runs each, ${process.env.DATABASE_URL ? 'DATABASE_URL' : 'embedded PostgreSQL'}; target: median under ${TARGET_MS} ms`);
  for (const [name, samples] of Object.entries(times)) {
    const sorted = [...samples].sort((a, b) => a - b);
    const median = sorted[Math.floor(sorted.length / 2)]!;
    const max = sorted.at(-1)!;
    console.log(`  ${name.padEnd(16)} median ${median.toFixed(0).padStart(5)} ms  max ${max.toFixed(0).padStart(5)} ms  ${median < TARGET_MS ? 'ok' : 'OVER TARGET'}`);
  }
} finally {
  // The database was the bench's own: drop it (an embedded server goes with its folder anyway).
  const admin = new pg.Client({ connectionString: handle.url });
  await admin.connect();
  await admin.query(`drop database if exists "${dbName}" with (force)`).finally(() => admin.end());
  await cleanup();
}
