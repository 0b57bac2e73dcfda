import pg from 'pg';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { hashPassword } from '../../src/store/passwords.ts';
import { insertApiToken } from '../../src/store/tokens.ts';
import { createAdminToken } from '../support/api-client.ts';
import { rawRequest, type RawReply } from '../support/raw-http.ts';
import { useTestRuntime } from '../support/runtime.ts';

const SCIM_ERROR = 'urn:ietf:params:scim:api:messages:2.0:Error';
const CORE_USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
const PASSWORD = 'correct horse battery staple';

/**
 * PostgreSQL refusing connections (ALLOW_CONNECTIONS false: 55000 for a new connection; the open
 * ones terminated: 57P01): every API answers 503 with Retry-After in its own format, so an IdP
 * retries later, never a 404 (which makes an IdP re-create the user) or a 500; /readyz is 503;
 * and everything answers again once the database is back.
 */
describe('database unavailable', () => {
  const t = useTestRuntime({ label: 'db_unavailable', roles: { api: true, relay: false, workers: false } });
  let scimToken: string;
  let adminToken: string;
  let userId: string;
  let userName: string;
  let database: string;

  beforeAll(async () => {
    const em = t.runtime.orm.em.fork();
    scimToken = insertApiToken(em, { tenantId: t.tenantId, kind: 'scim', actor: 'test' }).token;
    await em.flush();
    adminToken = await createAdminToken(t, 'admin');
    const user = await t.createUser({ role: 'admin', passwordHash: await hashPassword(PASSWORD) });
    userId = user.id;
    userName = user.userName!;
    database = new URL(t.runtime.config.databaseUrl!).pathname.slice(1);
  });

  /** Runs `sql` on the server's maintenance database (not the one being switched off). */
  async function onServer(sql: string) {
    const url = new URL(t.runtime.config.databaseUrl!);
    url.pathname = '/postgres';
    const client = new pg.Client({ connectionString: url.toString() });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  }

  const send = (method: string, path: string, headers: Record<string, string> = {}, body?: unknown) =>
    rawRequest(t.runtime.url!, { method, path, headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  const scim = () => ({ authorization: `Bearer ${scimToken}` });
  const admin = () => ({ authorization: `Bearer ${adminToken}` });

  function expect503(reply: RawReply, protocol: 'scim' | 'problem', what: string) {
    expect(reply.status, `${what}: ${reply.text}`).toBe(503);
    expect(Number(reply.headers['retry-after']), what).toBeGreaterThan(0);
    if (protocol === 'scim') {
      expect(reply.headers['content-type'], what).toMatch(/^application\/scim\+json/);
      expect(reply.json, what).toMatchObject({ schemas: [SCIM_ERROR], status: '503' });
    } else {
      expect(reply.headers['content-type'], what).toMatch(/^application\/problem\+json/);
      expect(reply.json, what).toMatchObject({ status: 503, code: 'unavailable' });
    }
  }

  it('answers 503 with Retry-After on SCIM, admin, client and console while PostgreSQL refuses connections, then recovers', async () => {
    expect((await send('GET', `/scim/v2/Users/${userId}`, scim())).status).toBe(200);
    // Libraries that print raw errors (connection parameters and all) bypass the log's redaction.
    const printed = [vi.spyOn(console, 'log'), vi.spyOn(console, 'error'), vi.spyOn(console, 'warn')];
    await onServer(`alter database "${database}" allow_connections false`);
    await onServer(`select pg_terminate_backend(pid) from pg_stat_activity where datname = '${database}' and pid <> pg_backend_pid()`);
    try {
      const checks: Array<[string, 'scim' | 'problem', () => Promise<RawReply>]> = [
        ['SCIM get', 'scim', () => send('GET', `/scim/v2/Users/${userId}`, scim())],
        ['SCIM list', 'scim', () => send('GET', '/scim/v2/Users?filter=userName%20eq%20%22x%22', scim())],
        ['SCIM create', 'scim', () => send('POST', '/scim/v2/Users', { ...scim(), 'content-type': 'application/scim+json' }, { schemas: [CORE_USER], userName: 'during.outage@example.org' })],
        ['SCIM patch', 'scim', () => send('PATCH', `/scim/v2/Users/${userId}`, scim(), { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'active', value: false }] })],
        ['SCIM delete', 'scim', () => send('DELETE', `/scim/v2/Users/${userId}`, scim())],
        ['SCIM unknown token', 'scim', () => send('GET', '/scim/v2/Users', { authorization: 'Bearer tov_scim_unknown' })],
        ['admin list', 'problem', () => send('GET', '/admin/users', admin())],
        ['admin create', 'problem', () => send('POST', '/admin/users', admin(), { firstName: 'A', lastName: 'B', email: 'outage@example.org' })],
        ['client login', 'problem', () => send('POST', '/client/login', {}, { userName, password: PASSWORD })],
        ['console sign-in', 'problem', () => send('POST', '/console/api/session', {}, { userName, password: PASSWORD })],
      ];
      for (const [what, protocol, request] of checks) expect503(await request(), protocol, what);
      const ready = await send('GET', '/readyz');
      expect(ready.status).toBe(503);
      expect(ready.json.failed).toContain('database');
    } finally {
      await onServer(`alter database "${database}" allow_connections true`);
    }
    // Back: the same requests answer again, and nothing of the outage was half-written.
    for (let i = 0; ; i++) {
      const reply = await send('GET', `/scim/v2/Users/${userId}`, scim());
      if (reply.status === 200) break;
      if (i > 50) throw new Error(`still ${reply.status} after the database came back`);
      await new Promise((r) => setTimeout(r, 100));
    }
    expect((await send('GET', '/readyz')).status).toBe(200);
    expect((await send('GET', '/admin/users', admin())).status).toBe(200);
    for (const spy of printed) {
      expect(spy.mock.calls.map((call) => String(call[0]).slice(0, 200))).toEqual([]);
      spy.mockRestore();
    }
    const user = await t.getUser(userId);
    expect(user.status).toBe('active');
    expect(await t.sql(`select 1 from users where user_name = 'during.outage@example.org' or email = 'outage@example.org'`)).toEqual([]);
  });
});
