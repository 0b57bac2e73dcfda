/**
 * Cold `npm start` (= `turnover start`) with no services configured (embedded PostgreSQL, PostgreSQL
 * queue backend, mail to files): milliseconds from spawning the process to the first 200 from
 * /readyz, on a fresh data directory (first start: initdb + migrations) and again on the same one
 * (restart). Run: npm run bench:startup [-- runs]
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../src/store/database.ts';
import { spawn } from 'node:child_process';
import { ROOT } from '../test/support/cli.ts';
import { waitFor200 } from '../test/support/process.ts';

const runs = Number(process.argv[2] ?? 3);
const first: number[] = [];
const restart: number[] = [];

for (let i = 0; i < runs; i++) {
  const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'turnover-bench-start-'));
  await fs.chmod(dataDir, 0o755);
  const port = await freePort();
  const env = { DATA_DIR: dataDir, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn' };
  for (const bucket of [first, restart]) {
    const started = Date.now();
    // Exactly what a newcomer types. Stopped like Ctrl-C stops it: a signal to the whole process
    // group (npm itself does not wait for its script on SIGTERM).
    const child = spawn('npm', ['start', '--silent'], { cwd: ROOT, env: { ...process.env, ...env }, stdio: 'ignore', detached: true });
    await waitFor200(`http://127.0.0.1:${port}/readyz`, 120_000);
    bucket.push(Date.now() - started);
    process.kill(-child.pid!, 'SIGINT');
    await waitUntilStopped(port, dataDir);
  }
  await fs.rm(dataDir, { recursive: true, force: true });
}

const fmt = (xs: number[]) => {
  const sorted = [...xs].sort((a, b) => a - b);
  return `median ${(sorted[Math.floor(sorted.length / 2)]! / 1000).toFixed(2)} s (min ${(sorted[0]! / 1000).toFixed(2)}, max ${(sorted.at(-1)! / 1000).toFixed(2)}, n=${xs.length})`;
};
console.log(`node ${process.version}, ${os.cpus().length} cpus`);
console.log(`cold start to /readyz 200, first start (initdb + migrations): ${fmt(first)}`);
console.log(`cold start to /readyz 200, restart on existing data:          ${fmt(restart)}`);

/** Until the port is closed and the embedded server is gone (its postmaster.pid removed). */
async function waitUntilStopped(port: number, dataDir: string): Promise<void> {
  for (let i = 0; i < 600; i++) {
    const listening = await fetch(`http://127.0.0.1:${port}/healthz`).then(
      () => true,
      () => false,
    );
    const serverUp = await fs.stat(path.join(dataDir, 'postgres', 'postmaster.pid')).then(
      () => true,
      () => false,
    );
    if (!listening && !serverUp) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('turnover did not stop within 30 s of SIGINT');
}
