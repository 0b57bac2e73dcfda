import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { createLogger } from '../../src/log.ts';
import { startRuntime, type Runtime } from '../../src/main.ts';
import { createTestDatabase } from '../support/database.ts';
import { startTcpProxy } from '../support/tcp-proxy.ts';

describe('/healthz and /readyz', () => {
  let runtime: Runtime;
  let proxy: Awaited<ReturnType<typeof startTcpProxy>>;
  const redisUrl = inject('redisUrl');

  beforeAll(async () => {
    const direct = new URL(await createTestDatabase('health'));
    proxy = await startTcpProxy({ host: direct.hostname, port: Number(direct.port) });
    const viaProxy = new URL(direct);
    viaProxy.port = String(proxy.port);
    // On Redis the queue stays up while the database goes away, so /readyz can single it out.
    const config = loadConfig({ PORT: '0', HOST: '127.0.0.1', DATABASE_URL: viaProxy.toString(), REDIS_URL: redisUrl || undefined });
    runtime = await startRuntime(config, { api: true, relay: false, workers: false }, createLogger('silent'));
  });
  afterAll(async () => {
    await runtime?.stop();
    await proxy?.close();
  });

  it('answers ready while the database and the queue backend answer', async () => {
    const res = await fetch(`${runtime.url}/readyz`);
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body).toMatchObject({ status: 'ready', checks: { database: { ok: true }, queue: { ok: true } } });
  });

  it('answers 503 naming the database when it goes away, while /healthz stays 200', async () => {
    proxy.kill();
    const res = await fetch(`${runtime.url}/readyz`);
    expect(res.status).toBe(503);
    const body = await res.json();
    expect(body.status).toBe('unavailable');
    expect(body.failed).toContain('database');
    expect(body.checks.database.ok).toBe(false);
    expect(body.checks.database.error).toEqual(expect.any(String));
    if (redisUrl) expect(body.checks.queue.ok).toBe(true);
    expect((await fetch(`${runtime.url}/healthz`)).status).toBe(200);
  });

  it('recovers once the database is back', async () => {
    proxy.revive();
    let status = 0;
    for (let i = 0; i < 40 && status !== 200; i++) {
      status = (await fetch(`${runtime.url}/readyz`)).status;
      if (status !== 200) await new Promise((r) => setTimeout(r, 250));
    }
    expect(status).toBe(200);
  });

  it('answers unknown routes with problem+json, not HTML', async () => {
    const res = await fetch(`${runtime.url}/no/such/route`);
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(await res.json()).toMatchObject({ status: 404, code: 'not_found' });
  });
});
