import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { hashPassword, verifyPassword } from '../../src/store/passwords.ts';
import { apiClient, createAdminToken, createTenant } from '../support/api-client.ts';
import { useTestRuntime } from '../support/runtime.ts';

/** The admin API's other resources: user data, numbers, contacts, devices, credentials, unlock, settings, tokens, audit. */
describe('admin API resources', () => {
  const t = useTestRuntime({
    label: 'admin_resources',
    roles: { api: true, relay: false, workers: false },
    env: { DATA_DIR: mkdtempSync(path.join(os.tmpdir(), 'turnover-admin-res-')) },
  });
  let admin: ReturnType<typeof apiClient>;
  let manager: ReturnType<typeof apiClient>;
  let other: ReturnType<typeof apiClient>;
  beforeAll(async () => {
    admin = apiClient(t, await createAdminToken(t, 'admin'));
    manager = apiClient(t, await createAdminToken(t, 'office_manager'));
    other = apiClient(t, await createAdminToken(t, 'admin', await createTenant(t, 'elsewhere')));
  });

  it("stores and reads a user's data by kind; shared contacts belong to the tenant", async () => {
    const user = await t.createUser();
    for (const [kind, payload] of [
      ['voicemail_message', { from: '+15550101', folder: 'new' }],
      ['voicemail_message', { from: '+15550102', folder: 'saved' }],
      ['answering_rule', { name: 'After hours' }],
    ] as const) {
      const res = await manager.post(`/admin/users/${user.id}/data`, { kind, payload });
      expect(res.status).toBe(201);
      expect(res.body).toMatchObject({ kind, payload });
    }
    expect((await manager.post(`/admin/users/${user.id}/data`, { kind: 'shared_contact', payload: {} })).status).toBe(422);
    const data = await manager.get(`/admin/users/${user.id}/data`);
    expect(data.body.counts).toEqual({ voicemail_message: 2, answering_rule: 1 });
    expect(data.body.items).toHaveLength(3);
    const rules = await manager.get(`/admin/users/${user.id}/data?kind=answering_rule`);
    expect(rules.body.items.map((i: { payload: unknown }) => i.payload)).toEqual([{ name: 'After hours' }]);

    const contact = await manager.post('/admin/contacts', { name: 'Front desk', phone: '+15550199' });
    expect(contact.status).toBe(201);
    expect((await manager.get('/admin/contacts')).body.contacts).toEqual([expect.objectContaining({ name: 'Front desk', phone: '+15550199' })]);
    expect((await other.get('/admin/contacts')).body.contacts).toEqual([]);
    expect((await other.post(`/admin/users/${user.id}/data`, { kind: 'custom_contact', payload: {} })).status).toBe(404);
  });

  it('keeps a number inventory and routes one number per user', async () => {
    const a = await t.createUser();
    const b = await t.createUser();
    for (const number of ['+15550001', '+15550002']) expect((await manager.post('/admin/numbers', { number })).status).toBe(201);
    expect((await manager.post('/admin/numbers', { number: '+15550001' })).status).toBe(409);
    expect((await manager.post('/admin/numbers', { number: '555-0001' })).status).toBe(422);

    const assigned = await manager.put(`/admin/users/${a.id}/number`, { number: '+15550001' });
    expect(assigned.status).toBe(200);
    expect(assigned.body.number).toMatchObject({ number: '+15550001', state: 'assigned', userId: a.id });
    expect((await manager.put(`/admin/users/${b.id}/number`, { number: '+15550001' })).status).toBe(409);
    expect((await manager.put(`/admin/users/${b.id}/number`, { number: '+15559999' })).status).toBe(404);
    const moved = await manager.put(`/admin/users/${a.id}/number`, { number: '+15550002' });
    expect(moved.body.released).toEqual(['+15550001']);
    const available = await manager.get('/admin/numbers?state=available');
    expect(available.body.numbers.map((n: { number: string }) => n.number)).toEqual(['+15550001']);
    expect((await other.get('/admin/numbers')).body.numbers).toEqual([]);
    expect((await other.put(`/admin/users/${a.id}/number`, { number: null })).status).toBe(404);
  });

  it("lists a user's devices", async () => {
    const user = await t.createUser();
    await t.sql(`insert into devices (id, tenant_id, user_id, kind, client_id, mac, pending_items) values (gen_random_uuid(), ?, ?, 'desk_phone', 'desk-1', '00:11:22:33:44:55', 0)`, [t.tenantId, user.id]);
    const res = await manager.get(`/admin/users/${user.id}/devices`);
    expect(res.body.devices).toEqual([expect.objectContaining({ kind: 'desk_phone', clientId: 'desk-1', mac: '00:11:22:33:44:55', pendingItems: 0 })]);
  });

  it('generates a password shown once, stores only its hash, and audits without it', async () => {
    const waiting = await t.createUser({ userName: 'new.hire', status: 'password_required' });
    const res = await manager.post(`/admin/users/${waiting.id}/credentials`);
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.body).toMatchObject({ userName: 'new.hire', password: expect.stringMatching(/^[A-Za-z0-9]{20}$/), status: 'active' });
    const stored = await t.getUser(waiting.id);
    expect(stored.status).toBe('active');
    expect(stored.passwordHash).toMatch(/^scrypt\$/);
    expect(await verifyPassword(res.body.password, stored.passwordHash)).toBe(true);
    const audit = await t.sql<{ details: unknown }>(`select details from audit_entries where user_id = ?`, [waiting.id]);
    expect(JSON.stringify(audit)).not.toContain(res.body.password);

    const active = await t.createUser({ passwordHash: await hashPassword('the old password 1') });
    const replaced = await manager.post(`/admin/users/${active.id}/credentials`);
    expect(replaced.body.status).toBe('active');
    expect(await verifyPassword(replaced.body.password, (await t.getUser(active.id)).passwordHash)).toBe(true);

    const banned = await t.createUser({ status: 'banned' });
    const refused = await manager.post(`/admin/users/${banned.id}/credentials`);
    expect(refused.status).toBe(409);
    expect(refused.body.code).toBe('user_banned');
  });

  it('unlocks a denied user, optionally with a new password', async () => {
    const locked = await t.createUser({ status: 'denied', failedLoginCount: 10, passwordHash: await hashPassword('forgotten password 1') });
    const res = await manager.post(`/admin/users/${locked.id}/unlock`, { generatePassword: true });
    expect(res.status).toBe(200);
    expect(res.body.user).toMatchObject({ status: 'active', failedLoginCount: 0 });
    expect(await verifyPassword(res.body.password, (await t.getUser(locked.id)).passwordHash)).toBe(true);

    const plain = await t.createUser({ status: 'denied', failedLoginCount: 10, passwordHash: 'x' });
    expect((await manager.post(`/admin/users/${plain.id}/unlock`, { password: 'short' })).status).toBe(422);
    const simple = await manager.post(`/admin/users/${plain.id}/unlock`, {});
    expect(simple.body.user.status).toBe('active');
    expect(simple.body.password).toBeUndefined();
    const again = await manager.post(`/admin/users/${plain.id}/unlock`, {});
    expect(again.status).toBe(409);
    expect(again.body.code).toBe('not_locked');
  });

  it('reads the policy, lets only admins change it, validates the result and audits the change', async () => {
    const read = await manager.get('/admin/settings');
    expect(read.body.policy).toMatchObject({ inactivityDays: 30, lockoutThreshold: 10, welcomeLinkTtlHours: 168, reconnectionMode: 'leave_deleted' });
    expect((await manager.put('/admin/settings', { lockoutThreshold: 5 })).status).toBe(403);

    const changed = await admin.put('/admin/settings', { lockoutThreshold: 5, defaultResetOptions: { voicemailMessages: true } });
    expect(changed.status).toBe(200);
    expect(changed.body.policy).toMatchObject({ lockoutThreshold: 5, inactivityDays: 30, defaultResetOptions: { voicemailMessages: true, customContacts: false } });
    const merged = await admin.put('/admin/settings', { defaultResetOptions: { customContacts: true } });
    expect(merged.body.policy.defaultResetOptions).toMatchObject({ voicemailMessages: true, customContacts: true });
    expect((await admin.put('/admin/settings', { lockoutThreshold: 0 })).status).toBe(422);
    expect((await admin.put('/admin/settings', { reconnectionMode: 'sometimes' })).status).toBe(422);
    expect((await admin.put('/admin/settings', { colour: 'blue' })).status).toBe(422);
    expect((await manager.get('/admin/settings')).body.policy.lockoutThreshold).toBe(5);
    expect((await other.get('/admin/settings')).body.policy.lockoutThreshold).toBe(10);

    const audit = await admin.get('/admin/audit?action=settings.updated');
    expect(audit.body.entries[1].details).toMatchObject({ changed: ['lockoutThreshold', 'defaultResetOptions'], from: { lockoutThreshold: 10 }, to: { lockoutThreshold: 5 } });
  });

  it('creates tokens shown once, lists them without values, and a revoked token fails at once', async () => {
    const created = await admin.post('/admin/tokens', { kind: 'admin', role: 'office_manager', label: 'help desk' });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ kind: 'admin', role: 'office_manager', label: 'help desk', token: expect.stringMatching(/^tov_admin_/) });
    const helpDesk = apiClient(t, created.body.token);
    expect((await helpDesk.get('/admin/users')).status).toBe(200);
    expect((await helpDesk.get('/admin/tokens')).status).toBe(403);

    const list = await admin.get('/admin/tokens');
    expect(list.body.tokens.map((tk: { id: string }) => tk.id)).toContain(created.body.id);
    expect(JSON.stringify(list.body)).not.toContain(created.body.token);
    const [row] = await t.sql<{ token_hash: string }>(`select token_hash from api_tokens where id = ?`, [created.body.id]);
    expect(row!.token_hash).not.toContain(created.body.token);

    expect((await admin.post('/admin/tokens', { kind: 'admin' })).status).toBe(422);
    expect((await admin.post('/admin/tokens', { kind: 'scim', role: 'admin' })).status).toBe(422);
    expect((await admin.post('/admin/tokens', { kind: 'scim' })).status).toBe(201);

    expect((await other.delete(`/admin/tokens/${created.body.id}`)).status).toBe(404);
    const revoked = await admin.delete(`/admin/tokens/${created.body.id}`);
    expect(revoked.status).toBe(200);
    expect(revoked.body.revokedAt).not.toBeNull();
    expect((await helpDesk.get('/admin/users')).status).toBe(401);
    expect((await admin.delete(`/admin/tokens/${created.body.id}`)).status).toBe(404);
  });

  it('queries the audit trail by user, actor, action and time, newest first, paged', async () => {
    const user = await t.createUser();
    const since = new Date(Date.now() - 1000).toISOString();
    for (const firstName of ['One', 'Two', 'Three']) await manager.patch(`/admin/users/${user.id}`, { firstName });
    const all = await manager.get(`/admin/audit?userId=${user.id}&limit=2`);
    expect(all.status).toBe(200);
    expect(all.body.entries).toHaveLength(2);
    expect(all.body.entries[0].actor).toMatch(/^admin:/);
    const next = await manager.get(`/admin/audit?userId=${user.id}&limit=2&cursor=${all.body.nextCursor}`);
    expect(next.body.entries).toHaveLength(1);
    expect(next.body.nextCursor).toBeNull();
    const ids = [...all.body.entries, ...next.body.entries].map((e: { id: string }) => Number(e.id));
    expect(ids).toEqual([...ids].sort((x, y) => y - x));

    const byActor = await manager.get(`/admin/audit?actor=${encodeURIComponent(all.body.entries[0].actor)}&action=user.&since=${encodeURIComponent(since)}`);
    expect(byActor.body.entries.every((e: { action: string }) => e.action.startsWith('user.'))).toBe(true);
    expect(byActor.body.entries.length).toBeGreaterThanOrEqual(3);
    const future = await manager.get(`/admin/audit?userId=${user.id}&since=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}`);
    expect(future.body.entries).toEqual([]);
    expect((await manager.get('/admin/audit?since=yesterday')).status).toBe(422);
    expect((await other.get(`/admin/audit?userId=${user.id}`)).body.entries).toEqual([]);
  });
});
