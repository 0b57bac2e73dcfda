import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../../src/store/database.ts';
import { runCli } from '../support/cli.ts';
import { startService, waitFor200 } from '../support/process.ts';

/**
 * `turnover start` with nothing configured: an embedded PostgreSQL under DATA_DIR carries the
 * store and the queues, mail goes to files, and the data survives a restart.
 */
describe('turnover start with no services configured', () => {
  let dataDir: string;
  afterAll(async () => {
    if (dataDir) await fs.rm(dataDir, { recursive: true, force: true });
  });

  it('becomes ready on an embedded PostgreSQL, stops cleanly on SIGTERM and on Ctrl-C, and keeps its data across a restart', async () => {
    dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'turnover-start-'));
    await fs.chmod(dataDir, 0o755); // the embedded server runs as the postgres user when we are root
    const port = await freePort();
    const env = { DATA_DIR: dataDir, PORT: String(port), HOST: '127.0.0.1', DATABASE_URL: '', REDIS_URL: '', SMTP_URL: '' };

    const first = startService('start', env);
    await waitFor200(`http://127.0.0.1:${port}/readyz`, 90_000, first);
    const ready = await (await fetch(`http://127.0.0.1:${port}/readyz`)).json();
    expect(ready.checks).toMatchObject({ database: { ok: true }, queue: { ok: true } });
    expect(first.output()).toContain('"database":"embedded"');
    expect(first.output()).toContain('schema bullmq');

    // A one-shot command beside the running service uses the same embedded cluster.
    const token = await runCli(['token', 'create', '--kind', 'scim'], { DATA_DIR: dataDir });
    expect(token.code, token.stderr).toBe(0);
    expect(token.lastLine).toMatch(/^tov_scim_/);

    first.child.kill('SIGTERM');
    expect(await first.exited).toBe(0);
    expect(first.output()).toContain('"msg":"stopped"');
    await expect(fs.stat(path.join(dataDir, 'postgres', 'postmaster.pid'))).rejects.toThrow();

    const second = startService('start', env, { ownGroup: true });
    await waitFor200(`http://127.0.0.1:${port}/readyz`, 60_000, second);
    expect(second.output()).not.toContain('first start');
    // The token created before the restart is still there to revoke.
    const revoked = await runCli(['token', 'revoke', token.lastLine], { DATA_DIR: dataDir });
    expect(revoked.code, revoked.stderr).toBe(0);
    // Ctrl-C: SIGINT to the whole process group. The embedded server runs in a group of its own,
    // so it is turnover that stops it, last, and no connection is cut under a running job.
    process.kill(-second.child.pid!, 'SIGINT');
    expect(await second.exited).toBe(0);
    expect(second.output()).toContain('"msg":"stopped"');
    expect(second.output()).not.toContain('terminating connection');
    await expect(fs.stat(path.join(dataDir, 'postgres', 'postmaster.pid'))).rejects.toThrow();
  }, 180_000);
});
