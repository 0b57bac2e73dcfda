import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { randomBytes } from 'node:crypto';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import type { ApiContext } from '../../src/http/context.ts';
import { createClientRouter } from '../../src/http/client/router.ts';
import { sharedLimitStores } from '../../src/http/rate-limit-store.ts';
import { problemHandler } from '../../src/http/errors.ts';
import { createLogger } from '../../src/log.ts';
import { PROCESSORS } from '../../jobs/index.ts';
import { issuePasswordLink } from '../../src/store/password-links.ts';
import { hashPassword } from '../../src/store/passwords.ts';
import { apiClient } from '../support/api-client.ts';
import { useTestRuntime } from '../support/runtime.ts';

const PASSWORD = 'correct horse battery staple';

/** The client API: sign-in with lockout, device check-in, set-password, over HTTP on real PostgreSQL. */
describe('client API', () => {
  const t = useTestRuntime({
    label: 'client_api',
    processors: PROCESSORS,
    env: { DATA_DIR: mkdtempSync(path.join(os.tmpdir(), 'turnover-client-')) },
  });
  let hash: string;
  const client = () => apiClient(t);
  beforeAll(async () => {
    hash = await hashPassword(PASSWORD);
  });

  async function signIn(userName: string, device = { id: `phone-${userName}`, kind: 'mobile_app' }) {
    const res = await client().post('/client/login', { userName, password: PASSWORD, device });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return res.body as { token: string; device: { id: string } };
  }

  const setPolicy = (policy: Record<string, unknown>) =>
    t.sql(`update tenants set policy = policy || ?::jsonb where id = ?`, [JSON.stringify(policy), t.tenantId]);

  describe('POST /client/login', () => {
    it('signs in by user name or email, registers the device and returns a device token bound to it', async () => {
      const user = await t.createUser({ userName: 'zoe', email: 'zoe@example.org', passwordHash: hash, status: 'inactive', failedLoginCount: 3 });
      const res = await client().post('/client/login', { userName: 'ZOE@example.org', password: PASSWORD, device: { id: 'zoe-phone', kind: 'mobile_app', name: "Zoe's phone" } });
      expect(res.status).toBe(200);
      expect(res.headers.get('cache-control')).toBe('no-store');
      expect(res.body).toMatchObject({ token: expect.stringMatching(/^tov_device_/), tokenType: 'Bearer', user: { id: user.id, status: 'active' }, device: { clientId: 'zoe-phone', kind: 'mobile_app' } });
      const after = await t.getUser(user.id);
      expect(after).toMatchObject({ status: 'active', failedLoginCount: 0 });
      expect(after.lastSigninAt).not.toBeNull();
      const [token] = await t.sql(`select kind, user_id, device_id, revoked_at from api_tokens where device_id = ?`, [res.body.device.id]);
      expect(token).toMatchObject({ kind: 'device', user_id: user.id, revoked_at: null });

      // Signing in again on the same device replaces its token; the old one stops working.
      const again = await client().post('/client/login', { userName: 'zoe', password: PASSWORD, device: { id: 'zoe-phone', kind: 'mobile_app' } });
      expect(again.body.device.id).toBe(res.body.device.id);
      expect((await apiClient(t, res.body.token).post('/client/checkin', { pendingItems: 0 })).status).toBe(401);
      expect((await apiClient(t, again.body.token).post('/client/checkin', { pendingItems: 0 })).status).toBe(200);
    });

    it('answers 401 for a wrong password or an unknown user, and 422 for a malformed body', async () => {
      await t.createUser({ userName: 'wash', passwordHash: hash });
      const wrong = await client().post('/client/login', { userName: 'wash', password: 'nope' });
      expect(wrong.status).toBe(401);
      expect(wrong.body.code).toBe('invalid_credentials');
      const unknown = await client().post('/client/login', { userName: 'nobody', password: 'nope' });
      expect(unknown.status).toBe(401);
      expect(unknown.body.detail).toBe(wrong.body.detail);
      expect((await client().post('/client/login', { userName: 'wash' })).status).toBe(422);
      expect((await client().post('/client/login', { userName: 'wash', password: PASSWORD, device: { id: 'x', kind: 'toaster' } })).status).toBe(422);
    });

    it('locks exactly at lockoutThreshold under 20 parallel wrong passwords, then refuses even the right one with 423', async () => {
      const user = await t.createUser({ userName: 'river', passwordHash: hash });
      const answers = await Promise.all(Array.from({ length: 20 }, () => client().post('/client/login', { userName: 'river', password: 'wrong password' })));
      const statuses = answers.map((a) => a.status).sort();
      expect(statuses.filter((s) => s === 401)).toHaveLength(9);
      expect(statuses.filter((s) => s === 423)).toHaveLength(11);
      const after = await t.getUser(user.id);
      expect(after).toMatchObject({ status: 'denied', failedLoginCount: 10 });
      const counted = await t.sql(`select count(*)::int as n from audit_entries where user_id = ? and action = 'user.sign_in_failed' and (details->>'changed')::boolean`, [user.id]);
      expect(counted).toEqual([{ n: 10 }]);

      const right = await client().post('/client/login', { userName: 'river', password: PASSWORD });
      expect(right.status).toBe(423);
      expect(right.body.code).toBe('user_locked');
      expect(await t.sql(`select 1 from api_tokens where user_id = ?`, [user.id])).toEqual([]);
    });

    it('gives banned, disabled and deleted users 403 and no token', async () => {
      for (const status of ['banned', 'disabled', 'deleted'] as const) {
        const user = await t.createUser({ userName: `blocked-${status}`, passwordHash: hash, status });
        const res = await client().post('/client/login', { userName: `blocked-${status}`, password: PASSWORD });
        expect(res.status, status).toBe(403);
        expect(res.headers.get('content-type')).toMatch(/problem\+json/);
        expect(await t.sql(`select 1 from api_tokens where user_id = ?`, [user.id])).toEqual([]);
      }
    });

    it('rate-limits sign-in attempts per user name (429)', async () => {
      const answers = [];
      for (let i = 0; i < 31; i++) answers.push((await client().post('/client/login', { userName: 'rate.limited', password: 'x' })).status);
      expect(answers.slice(0, 30).every((s) => s === 401)).toBe(true);
      expect(answers[30]).toBe(429);
      // Another user from the same address is not affected.
      expect((await client().post('/client/login', { userName: 'someone.else', password: 'x' })).status).toBe(401);
    });
  });

  it('rate-limits sign-in attempts per address across user names (429)', async () => {
    // A router of its own with a small per-address limit, on the same database.
    const app = express();
    app.use(createClientRouter(t.runtime as unknown as ApiContext, { loginLimits: { windowMs: 60_000, perUser: 100, perAddress: 3 } }));
    app.use(problemHandler(createLogger('silent')));
    const server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/client/login`;
      const statuses = [];
      for (const userName of ['a', 'b', 'c', 'd']) {
        const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ userName, password: 'x' }) });
        statuses.push(res.status);
      }
      expect(statuses).toEqual([401, 401, 401, 429]);
    } finally {
      server.close();
    }
  });

  it.runIf(inject('redisUrl'))('counts sign-in attempts in Redis when there is one, so API processes share the limit', async () => {
    // Two API processes (two routers with stores of their own) behind one address.
    const prefix = `{limits-test-${randomBytes(3).toString('hex')}}`;
    const stores = [sharedLimitStores({ url: inject('redisUrl') }, prefix)!, sharedLimitStores({ url: inject('redisUrl') }, prefix)!];
    const servers = stores.map((limits) => {
      const app = express();
      app.use(createClientRouter({ ...(t.runtime as unknown as ApiContext), limits }, { loginLimits: { windowMs: 60_000, perUser: 100, perAddress: 3 } }));
      app.use(problemHandler(createLogger('silent')));
      return app.listen(0, '127.0.0.1');
    });
    await Promise.all(servers.map((server) => new Promise((resolve) => server.once('listening', resolve))));
    try {
      const statuses = [];
      for (const [i, userName] of ['a', 'b', 'c', 'd'].entries()) {
        const url = `http://127.0.0.1:${(servers[i % 2]!.address() as AddressInfo).port}/client/login`;
        const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ userName, password: 'x' }) });
        statuses.push(res.status);
      }
      // Per process the fourth attempt would be the second on its server, and allowed.
      expect(statuses).toEqual([401, 401, 401, 429]);
    } finally {
      for (const server of servers) server.close();
      await Promise.all(stores.map((s) => s.close()));
    }
  });

  describe('POST /client/checkin', () => {
    it('needs a live device token', async () => {
      expect((await client().post('/client/checkin', { pendingItems: 0 })).status).toBe(401);
      expect((await apiClient(t, 'tov_device_garbage').post('/client/checkin', { pendingItems: 0 })).status).toBe(401);
    });

    it('makes an inactive user active, stores uploaded records as user data, and validates the body', async () => {
      const user = await t.createUser({ userName: 'inara', passwordHash: hash });
      const { token, device } = await signIn('inara');
      await t.sql(`update users set status = 'inactive' where id = ?`, [user.id]);
      const res = await apiClient(t, token).post('/client/checkin', { pendingItems: 2, items: [{ kind: 'app_record', payload: { note: 'call back' } }, { kind: 'app_record', payload: { n: 2 } }] });
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ status: 'active', clearHistory: false, pendingItems: 2, stored: 2 });
      expect((await t.getUser(user.id)).status).toBe('active');
      const [row] = await t.sql(`select pending_items, last_checkin_at from devices where id = ?`, [device.id]);
      expect(row).toMatchObject({ pending_items: 2, last_checkin_at: expect.anything() });
      expect(await t.sql(`select kind, payload from user_data where user_id = ? order by created_at`, [user.id])).toEqual([
        { kind: 'app_record', payload: { note: 'call back' } },
        { kind: 'app_record', payload: { n: 2 } },
      ]);
      expect((await apiClient(t, token).post('/client/checkin', { pendingItems: -1 })).status).toBe(422);
      expect((await apiClient(t, token).post('/client/checkin', { pendingItems: 0, items: [{ kind: 'DROP TABLE', payload: {} }] })).status).toBe(422);
    });

    it('keeps a disabled user disabled and tells the device to clear its history', async () => {
      const user = await t.createUser({ userName: 'simon', passwordHash: hash });
      const { token } = await signIn('simon');
      await t.sql(`update users set status = 'disabled', disabled_by = 'operator' where id = ?`, [user.id]);
      const res = await apiClient(t, token).post('/client/checkin', { pendingItems: 0 });
      expect(res.body).toMatchObject({ status: 'disabled', clearHistory: true });
      expect((await t.getUser(user.id)).status).toBe('disabled');
    });

    it.each([
      { mode: 'leave_deleted', status: 'deleted', clearHistory: true },
      { mode: 'set_active', status: 'active', clearHistory: false },
      { mode: 'set_disabled', status: 'disabled', clearHistory: true },
    ])('follows reconnectionMode $mode for a deleted user', async ({ mode, status, clearHistory }) => {
      await setPolicy({ reconnectionMode: mode });
      const user = await t.createUser({ userName: `deleted-${mode}`, passwordHash: hash });
      const { token } = await signIn(`deleted-${mode}`);
      await t.sql(`update users set status = 'deleted' where id = ?`, [user.id]);
      const res = await apiClient(t, token).post('/client/checkin', { pendingItems: 0 });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ status, clearHistory });
      expect((await t.getUser(user.id)).status).toBe(status);
      await setPolicy({ reconnectionMode: 'leave_deleted' });
    });

    it('lets a reset waiting for this device go on as soon as it reports nothing pending', async () => {
      const user = await t.createUser({ userName: 'book', passwordHash: hash });
      const { token } = await signIn('book');
      await apiClient(t, token).post('/client/checkin', { pendingItems: 3 });
      const taskId = await t.createTask('reset', user.id, { options: {} });
      await t.waitForTask(taskId, ['waiting_for_device']);
      const started = Date.now();
      const res = await apiClient(t, token).post('/client/checkin', { pendingItems: 0, items: [{ kind: 'app_record', payload: { last: true } }] });
      expect(res.body).toMatchObject({ status: 'active', stored: 1 });
      const task = await t.waitForTask(taskId, ['succeeded'], 4000);
      // Well before the 5 s backoff: the check-in woke it.
      expect(Date.now() - started).toBeLessThan(4000);
      expect(task.result).toMatchObject({ pendingData: { decision: 'proceed' } });
      expect((await t.getUser(user.id)).status).toBe('setup_required');
      // The reset revoked the device token.
      expect((await apiClient(t, token).post('/client/checkin', { pendingItems: 0 })).status).toBe(401);
    });
  });

  describe('set password', () => {
    async function link(userId: string) {
      const em = t.runtime.orm.em.fork();
      return issuePasswordLink(em, { tenantId: t.tenantId, userId, purpose: 'welcome', publicUrl: t.runtime.url! });
    }

    it('serves a plain form with a strict CSP, sets the password once, then answers 410', async () => {
      const user = await t.createUser({ userName: 'jayne', email: 'jayne@example.org', status: 'password_required' });
      const { token } = await link(user.id);
      const page = await client().get(`/set-password?token=${token}`);
      expect(page.status).toBe(200);
      expect(page.headers.get('content-type')).toMatch(/^text\/html/);
      expect(page.headers.get('content-security-policy')).toMatch(/default-src 'none'/);
      expect(page.headers.get('referrer-policy')).toBe('no-referrer');
      expect(page.text).toContain('<form method="post" action="/client/password">');
      expect(page.text).toContain(`value="${token}"`);
      expect(page.text).not.toMatch(/<script/i);

      const weak = await client().post('/client/password', { token, password: 'short' });
      expect(weak.status).toBe(422);
      expect(weak.body.code).toBe('weak_password');
      expect((await client().post('/client/password', { token, password: 'jayne@example.org-secret' })).status).toBe(422);

      const ok = await client().post('/client/password', { token, password: PASSWORD });
      expect(ok.status).toBe(200);
      expect(ok.body).toEqual({ status: 'active', userName: 'jayne' });
      expect((await t.getUser(user.id)).status).toBe('active');
      expect((await client().post('/client/login', { userName: 'jayne', password: PASSWORD })).status).toBe(200);

      const reused = await client().post('/client/password', { token, password: 'another good password' });
      expect(reused.status).toBe(410);
      expect(reused.body.code).toBe('link_used');
      const usedPage = await client().get(`/set-password?token=${token}`);
      expect(usedPage.status).toBe(410);
      expect(usedPage.text).toContain('already been used');
    });

    it('answers an expired link with a clear page and 410, an unknown one with 404, and takes the form post', async () => {
      const user = await t.createUser({ userName: 'kaylee', status: 'password_required' });
      const expired = await link(user.id);
      await t.sql(`update password_links set expires_at = now() - interval '1 minute' where id = ?`, [expired.link.id]);
      const page = await client().get(`/set-password?token=${expired.token}`);
      expect(page.status).toBe(410);
      expect(page.text).toContain('This link has expired');
      expect((await client().post('/client/password', { token: expired.token, password: PASSWORD })).status).toBe(410);
      expect((await client().get('/set-password?token=nonsense')).status).toBe(404);
      expect((await client().get('/set-password')).status).toBe(400);

      const fresh = await link(user.id);
      const form = (fields: Record<string, string>) =>
        client().call('POST', '/client/password', new URLSearchParams(fields).toString(), { 'content-type': 'application/x-www-form-urlencoded' });
      const mismatch = await form({ token: fresh.token, password: PASSWORD, confirm: 'something else entirely' });
      expect(mismatch.status).toBe(422);
      expect(mismatch.text).toContain('not the same');
      const done = await form({ token: fresh.token, password: PASSWORD, confirm: PASSWORD });
      expect(done.status).toBe(200);
      expect(done.text).toContain('Your password is set');
      expect((await t.getUser(user.id)).status).toBe('active');
    });
  });
});
