import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { createLogger } from '../../src/log.ts';
import { startRuntime } from '../../src/main.ts';
import { freePort } from '../../src/store/database.ts';
import { ROOT, runCli, type CliResult } from '../support/cli.ts';
import { createTestDatabase } from '../support/database.ts';
import { startService, waitFor200, type ServiceProcess } from '../support/process.ts';

/**
 * The turnover command as an operator runs it: exit codes, --version, the address in the links it
 * prints, a worker beside the API on one host, and what it says when the environment is wrong.
 */
let databaseUrl: string;
beforeAll(async () => {
  databaseUrl = await createTestDatabase('cli_process');
});

/** A failure told in one line: "turnover: ..." and no stack frames. */
function expectOneLine(result: CliResult, code: number, line: RegExp): void {
  expect(result.code, result.stderr).toBe(code);
  expect(result.stderr).not.toMatch(/^\s+at /m);
  expect(result.stderr.trim().split('\n').filter((l) => l.startsWith('turnover: '))).toHaveLength(1);
  expect(result.stderr).toMatch(line);
}

describe('turnover --version', () => {
  it("prints package.json's version and exits 0", async () => {
    const { version } = JSON.parse(await fs.readFile(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };
    const result = await runCli(['--version']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout.trim()).toBe(version);
  });
});

describe('exit codes on the embedded database', () => {
  // The embedded server is where a library exit hook used to turn every failure into exit 0.
  let dataDir: string;
  beforeAll(async () => {
    dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'turnover-cli-exit-'));
    await fs.chmod(dataDir, 0o755); // the embedded server runs as the postgres user when we are root
  });
  afterAll(async () => {
    if (dataDir) await fs.rm(dataDir, { recursive: true, force: true });
  });

  it('exits non-zero on a usage error and on a token that matches nothing', async () => {
    const env = { DATA_DIR: dataDir, DATABASE_URL: '' };
    const device = await runCli(['token', 'create', '--kind', 'device'], env);
    expectOneLine(device, 2, /^turnover: --user-name is required with --kind device$/m);

    const created = await runCli(['token', 'create', '--kind', 'scim'], env);
    expect(created.code, created.stderr).toBe(0);
    const revoked = await runCli(['token', 'revoke', 'tov_scim_nothing_like_it'], env);
    expectOneLine(revoked, 2, /^turnover: no live token matches$/m);
    expect(revoked.stdout).toBe('');
  }, 120_000);
});

/** A port p whose neighbour p+1 is free too: where `serve` and, by default, `worker` listen. */
async function twoFreePorts(): Promise<number> {
  for (;;) {
    const port = await freePort();
    if (port < 65535 && (await isFree(port + 1))) return port;
  }
}

function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

async function stop(...services: ServiceProcess[]): Promise<Array<number | null>> {
  for (const s of services) if (s.child.exitCode === null) s.child.kill('SIGTERM');
  return Promise.all(services.map((s) => s.exited));
}

describe('turnover serve and turnover worker on one host with one environment', () => {
  it('both come up (the worker on PORT+1), and operator create prints a link the server answers', async () => {
    const port = await twoFreePorts();
    const env = {
      DATABASE_URL: databaseUrl,
      REDIS_URL: '',
      HOST: '127.0.0.1',
      PORT: String(port),
      QUEUE_PREFIX: `{turnover-cli-${randomBytes(3).toString('hex')}}`,
      LOG_LEVEL: 'warn',
    };
    const api = startService('serve', env);
    const worker = startService('worker', env);
    try {
      await Promise.all([waitFor200(`http://127.0.0.1:${port}/healthz`, 60_000, api), waitFor200(`http://127.0.0.1:${port + 1}/healthz`, 60_000, worker)]);
      expect((await fetch(`http://127.0.0.1:${port + 1}/readyz`)).status).toBe(200);
      // PORT+1 is the worker's: health only, no API.
      expect((await fetch(`http://127.0.0.1:${port + 1}/scim/v2/ServiceProviderConfig`)).status).toBe(404);
      expect((await fetch(`http://127.0.0.1:${port}/scim/v2/ServiceProviderConfig`)).status).not.toBe(404);

      // Same environment, no PUBLIC_URL: the link takes PORT as the server does, and says so.
      const operator = await runCli(['operator', 'create', '--user-name', 'link.owner', '--email', 'link.owner@example.org', '--role', 'admin'], env);
      expect(operator.code, operator.stderr).toBe(0);
      const link = new URL(operator.lastLine);
      expect(link.origin).toBe(`http://localhost:${port}`);
      expect(operator.stderr).toContain(`PUBLIC_URL is not set: the link assumes the server answers at http://localhost:${port}`);
      link.hostname = '127.0.0.1';
      const page = await fetch(link);
      expect(page.status).toBe(200);
      expect(await page.text()).toContain('<form');
    } finally {
      expect(await stop(worker, api)).toEqual([0, 0]);
    }
  }, 120_000);
});

describe('WORKER_PORT=0', () => {
  it('runs a worker without a listener', async () => {
    const config = loadConfig({ DATABASE_URL: databaseUrl, HOST: '127.0.0.1', WORKER_PORT: '0', QUEUE_PREFIX: `{turnover-cli-${randomBytes(3).toString('hex')}}` });
    const runtime = await startRuntime(config, { api: false, relay: false, workers: true }, createLogger('silent'));
    try {
      expect(runtime.url).toBeUndefined();
    } finally {
      await runtime.stop();
    }
  });
});

describe('an environment that does not work: one line naming the variable, exit 1', () => {
  it('names DATABASE_URL (password masked) when the database cannot be reached, for one-shot and long-running commands', async () => {
    const closed = await freePort();
    const [refused, unresolved] = await Promise.all([
      runCli(['migrate'], { DATABASE_URL: `postgres://postgres:hunter2@127.0.0.1:${closed}/nowhere` }),
      runCli(['serve'], { DATABASE_URL: 'postgres://postgres@no-such-host.invalid/nowhere', HOST: '127.0.0.1', PORT: '0' }),
    ]);
    expectOneLine(refused, 1, new RegExp(`^turnover: DATABASE_URL=postgres://postgres:\\*\\*\\*@127\\.0\\.0\\.1:${closed}/nowhere: cannot connect \\(connect ECONNREFUSED 127\\.0\\.0\\.1:${closed}\\)$`, 'm'));
    expect(refused.stderr).not.toContain('hunter2');
    expectOneLine(unresolved, 1, /^turnover: DATABASE_URL=postgres:\/\/postgres@no-such-host\.invalid\/nowhere: cannot connect \(getaddrinfo ENOTFOUND no-such-host\.invalid\)$/m);
  }, 60_000);

  it('names HOST when it is no address of this host, and PORT when it is taken', async () => {
    const taken = net.createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const takenPort = (taken.address() as net.AddressInfo).port;
    try {
      const env = { DATABASE_URL: databaseUrl, REDIS_URL: '', QUEUE_PREFIX: `{turnover-cli-${randomBytes(3).toString('hex')}}` };
      const [badIp, badName, busy] = await Promise.all([
        runCli(['serve'], { ...env, HOST: '256.1.1.1', PORT: '0' }, 100_000),
        runCli(['worker'], { ...env, HOST: 'no-such-host.invalid', PORT: '0' }, 100_000),
        runCli(['serve'], { ...env, HOST: '127.0.0.1', PORT: String(takenPort) }, 100_000),
      ]);
      expectOneLine(badIp, 1, /^turnover: HOST=256\.1\.1\.1: cannot listen there \(getaddrinfo ENOTFOUND 256\.1\.1\.1\)$/m);
      expectOneLine(badName, 1, /^turnover: HOST=no-such-host\.invalid: cannot listen there \(getaddrinfo (ENOTFOUND|EAI_AGAIN) no-such-host\.invalid\)$/m);
      expectOneLine(busy, 1, new RegExp(`^turnover: PORT=${takenPort}: cannot listen on it at HOST=127\\.0\\.0\\.1 \\(listen EADDRINUSE: address already in use 127\\.0\\.0\\.1:${takenPort}\\)$`, 'm'));
    } finally {
      taken.close();
    }
  }, 120_000); // three start-ups at once, on a machine the rest of the suite keeps busy
});
