import { describe, expect, it } from 'vitest';
import { hashToken, insertApiToken } from '../../src/store/tokens.ts';
import { DeviceSchema } from '../../src/store/entities/index.ts';
import { useTestRuntime } from '../support/runtime.ts';

/** ban, unban, disable, activate, unlock, delete, deprovision, purge and the inactivity sweep, end to end. */
describe('status processors', () => {
  const t = useTestRuntime({ label: 'jobs_status', roles: { api: false, relay: true, workers: true } });

  async function deviceWithToken(userId: string) {
    const em = t.runtime.orm.em.fork();
    const device = em.create(DeviceSchema, { tenantId: t.tenantId, userId, kind: 'mobile_app', clientId: `phone-${userId}` });
    await em.flush();
    const { token } = insertApiToken(em, { tenantId: t.tenantId, kind: 'device', userId, deviceId: device.id, actor: 'test' });
    await em.flush();
    return { device, token };
  }
  const tokenRevoked = async (token: string) =>
    (await t.sql<{ revoked_at: Date | null }>(`select revoked_at from api_tokens where token_hash = ?`, [hashToken(token)]))[0]!.revoked_at !== null;

  it('bans a user, keeping history, revoking device tokens, and audits the change with the task', async () => {
    const user = await t.createUser({ passwordHash: 'x' });
    const { token } = await deviceWithToken(user.id);
    await t.sql(`insert into user_data (id, tenant_id, user_id, kind, payload) values (gen_random_uuid(), ?, ?, 'voicemail_message', '{}')`, [t.tenantId, user.id]);
    const id = await t.createTask('ban', user.id);
    const task = await t.waitForTask(id, ['succeeded']);
    expect(task.result).toMatchObject({ from: 'active', to: 'banned', changed: true });
    expect((await t.getUser(user.id)).status).toBe('banned');
    expect(await tokenRevoked(token)).toBe(true);
    expect(await t.sql(`select 1 from user_data where user_id = ?`, [user.id])).toHaveLength(1);
    const audit = await t.sql<{ action: string; actor: string; task_id: string; details: { from: string; to: string } }>(
      `select action, actor, task_id, details from audit_entries where user_id = ? and action like 'user.%'`,
      [user.id],
    );
    expect(audit).toEqual([expect.objectContaining({ action: 'user.ban', actor: 'test', task_id: id, details: expect.objectContaining({ from: 'active', to: 'banned' }) })]);
  });

  it('unbans back to active, and the user can be banned again', async () => {
    const user = await t.createUser({ status: 'banned', passwordHash: 'x' });
    await t.waitForTask(await t.createTask('unban', user.id), ['succeeded']);
    expect((await t.getUser(user.id)).status).toBe('active');
    const again = await t.waitForTask(await t.createTask('ban', user.id, {}, {}), ['succeeded']);
    expect(again.result).toMatchObject({ to: 'banned' });
  });

  it('refuses an illegal transition permanently, with its code, without retrying', async () => {
    const user = await t.createUser({ status: 'deleted' });
    const task = await t.waitForTask(await t.createTask('ban', user.id), ['failed']);
    expect(task.attempts).toBe(1);
    expect(task.lastError).toMatch(/^user_deleted: /);
    expect((await t.getUser(user.id)).status).toBe('deleted');
  });

  it('disables (operator), tells devices to clear history, and activate brings the user back', async () => {
    const user = await t.createUser({ passwordHash: 'x' });
    const { device } = await deviceWithToken(user.id);
    await t.waitForTask(await t.createTask('disable', user.id), ['succeeded']);
    const disabled = await t.getUser(user.id);
    expect([disabled.status, disabled.disabledBy]).toEqual(['disabled', 'operator']);
    expect((await t.sql<{ clear_history: boolean }>(`select clear_history from devices where id = ?`, [device.id]))[0]!.clear_history).toBe(true);
    await t.waitForTask(await t.createTask('activate', user.id), ['succeeded']);
    expect((await t.getUser(user.id)).status).toBe('active');
  });

  it('unlocks a denied user and resets the failure counter', async () => {
    const user = await t.createUser({ status: 'denied', failedLoginCount: 10, passwordHash: 'x' });
    await t.waitForTask(await t.createTask('unlock', user.id), ['succeeded']);
    const after = await t.getUser(user.id);
    expect([after.status, after.failedLoginCount]).toEqual(['active', 0]);
  });

  it('deprovisions: cut off at once, and a chained reset follows', async () => {
    const user = await t.createUser({ passwordHash: 'x' });
    const { token } = await deviceWithToken(user.id);
    const id = await t.createTask('deprovision', user.id, { chainReset: true });
    await t.waitForTask(id, ['succeeded']);
    expect((await t.getUser(user.id)).status).toBe('disabled');
    expect(await tokenRevoked(token)).toBe(true);
    const chained = await t.sql<{ type: string; dedupe_key: string }>(`select type, dedupe_key from tasks where user_id = ? and id <> ?`, [user.id, id]);
    expect(chained).toEqual([{ type: 'reset', dedupe_key: `reset-after:${id}` }]);
  });

  it('deletes softly (row kept) and purges for good (tombstone, no personal data, number back in inventory)', async () => {
    const user = await t.createUser({ externalId: 'hr-42', extension: '2042', passwordHash: 'x' });
    await deviceWithToken(user.id);
    await t.sql(`insert into phone_numbers (id, tenant_id, number, state, user_id) values (gen_random_uuid(), ?, '+15550100042', 'assigned', ?)`, [t.tenantId, user.id]);
    await t.waitForTask(await t.createTask('delete', user.id), ['succeeded']);
    expect((await t.getUser(user.id)).status).toBe('deleted');
    await t.waitForTask(await t.createTask('purge', user.id), ['succeeded']);
    const purged = await t.getUser(user.id);
    expect(purged).toMatchObject({ status: 'purged', userName: null, externalId: null, firstName: null, email: null, passwordHash: null });
    expect(await t.sql(`select 1 from devices where user_id = ?`, [user.id])).toEqual([]);
    expect(await t.sql(`select state, user_id from phone_numbers where number = '+15550100042'`)).toEqual([{ state: 'available', user_id: null }]);
    const trail = await t.sql<{ action: string }>(`select action from audit_entries where user_id = ? and action like 'user.%' order by id`, [user.id]);
    expect(trail.map((a) => a.action)).toEqual(['user.delete', 'user.permanent_delete']);
  });

  it('sweeps users idle past inactivityDays to inactive in one statement, and leaves recent ones', async () => {
    const idle = await t.createUser({ lastCheckinAt: new Date(Date.now() - 40 * 86_400_000), statusChangedAt: new Date(Date.now() - 90 * 86_400_000) });
    const recent = await t.createUser({ lastSigninAt: new Date(Date.now() - 2 * 86_400_000), statusChangedAt: new Date(Date.now() - 90 * 86_400_000) });
    const justUnbanned = await t.createUser({ lastCheckinAt: new Date(Date.now() - 40 * 86_400_000) });
    const banned = await t.createUser({ status: 'banned', statusChangedAt: new Date(Date.now() - 90 * 86_400_000) });
    const task = await t.waitForTask(await t.createTask('inactivity_sweep', null), ['succeeded']);
    expect(task.result).toMatchObject({ inactivityDays: 30 });
    expect((await t.getUser(idle.id)).status).toBe('inactive');
    expect((await t.getUser(recent.id)).status).toBe('active');
    expect((await t.getUser(justUnbanned.id)).status).toBe('active');
    expect((await t.getUser(banned.id)).status).toBe('banned');
    expect(await t.sql(`select action from audit_entries where user_id = ?`, [idle.id])).toEqual([{ action: 'user.inactivity_sweep' }]);
  });
});
