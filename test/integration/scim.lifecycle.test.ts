import { describe, expect, it } from 'vitest';
import { DeviceSchema } from '../../src/store/entities/index.ts';
import { hashToken, insertApiToken } from '../../src/store/tokens.ts';
import { CORE_USER, TURNOVER, uniqueName, useScim } from './scim.helpers.ts';

/** What the SCIM requests do to the lifecycle: statuses via the one transition, audit entries and task rows in the same transaction. */
describe('SCIM lifecycle wiring', () => {
  const s = useScim('scim_lifecycle');
  // These tests deactivate many users of one small tenant on purpose: the mass-deprovision guard
  // (scim.guard.test.ts) is off here unless a test turns it on.
  const setPolicy = (policy: Record<string, unknown>) =>
    s.t.sql(`update tenants set policy = ?::jsonb where id = ?`, [JSON.stringify({ deprovisionGuard: { enabled: false }, ...policy }), s.t.tenantId]);
  const audit = (userId: string) =>
    s.t.sql<{ action: string; actor: string; task_id: string | null; details: Record<string, unknown> }>(
      `select action, actor, task_id, details from audit_entries where user_id = ? order by id`,
      [userId],
    );
  const tasks = (userId: string) =>
    s.t.sql<{ id: string; type: string; state: string; run_at: Date; dedupe_key: string | null; actor: string; payload: Record<string, unknown> }>(
      `select id, type, state, run_at, dedupe_key, actor, payload from tasks where user_id = ? order by created_at`,
      [userId],
    );
  const actor = () => `scim:${s.tokenId}`;
  async function deviceToken(userId: string) {
    const em = s.t.runtime.orm.em.fork();
    const device = em.create(DeviceSchema, { tenantId: s.t.tenantId, userId, kind: 'mobile_app', clientId: `phone-${userId}` });
    await em.flush();
    const { token } = insertApiToken(em, { tenantId: s.t.tenantId, kind: 'device', userId, deviceId: device.id, actor: 'test' });
    await em.flush();
    return token;
  }
  const revoked = async (token: string) =>
    (await s.t.sql<{ revoked_at: Date | null }>(`select revoked_at from api_tokens where token_hash = ?`, [hashToken(token)]))[0]!.revoked_at !== null;

  it('create: password_required, a welcome_email task and an audit entry by the SCIM connection', async () => {
    await setPolicy({});
    const user = await s.createUser({ emails: [{ type: 'work', value: 'new.hire@example.org' }] });
    expect(user[TURNOVER].status).toBe('password_required');
    expect(await tasks(user.id)).toEqual([expect.objectContaining({ type: 'welcome_email', state: 'pending', actor: actor(), payload: { purpose: 'welcome' } })]);
    expect(await audit(user.id)).toEqual([expect.objectContaining({ action: 'user.create', actor: actor(), details: expect.objectContaining({ to: 'password_required', source: 'scim' }) })]);
    await setPolicy({ sendWelcomeOnScimCreate: false });
    const quiet = await s.createUser();
    expect(await tasks(quiet.id)).toEqual([]);
    await setPolicy({});
  });

  it('active false: disabled by the IdP (policy disable), audited; true again re-enables; idp_active records the request', async () => {
    const user = await s.createUser();
    await s.patch(`/Users/${user.id}`, [{ op: 'replace', value: { active: false } }]);
    let row = await s.t.getUser(user.id);
    expect([row.status, row.disabledBy, row.idpActive]).toEqual(['disabled', 'idp', false]);
    await s.patch(`/Users/${user.id}`, [{ op: 'replace', value: { active: true } }]);
    row = await s.t.getUser(user.id);
    expect([row.status, row.disabledBy, row.idpActive]).toEqual(['password_required', null, true]);
    const trail = await audit(user.id);
    expect(trail.map((a) => a.action)).toEqual(['user.create', 'user.scim_deactivate', 'user.scim_reactivate']);
    expect(trail[1]).toMatchObject({ actor: actor(), details: { from: 'password_required', to: 'disabled' } });
    // Sending the same state again changes nothing and audits nothing.
    await s.patch(`/Users/${user.id}`, [{ op: 'replace', value: { active: true } }]);
    expect(await audit(user.id)).toHaveLength(3);
  });

  it('active true never re-enables a user an operator banned or that is locked', async () => {
    const banned = await s.createUser();
    await s.patch(`/Users/${banned.id}`, [{ op: 'replace', value: { active: false } }]);
    await s.t.sql(`update users set status = 'banned', disabled_by = null where id = ?`, [banned.id]); // an operator's ban (fixture)
    const reply = await s.patch(`/Users/${banned.id}`, [{ op: 'replace', value: { active: true } }]);
    expect(reply.body).toMatchObject({ active: false, [TURNOVER]: { status: 'banned' } });
    expect((await s.t.getUser(banned.id)).status).toBe('banned');

    const locked = await s.createUser();
    await s.patch(`/Users/${locked.id}`, [{ op: 'replace', value: { active: false } }]);
    await s.t.sql(`update users set status = 'denied', disabled_by = null where id = ?`, [locked.id]);
    await s.patch(`/Users/${locked.id}`, [{ op: 'replace', value: { active: true } }]);
    expect((await s.t.getUser(locked.id)).status).toBe('denied');

    const operatorDisabled = await s.createUser();
    await s.t.sql(`update users set status = 'disabled', disabled_by = 'operator' where id = ?`, [operatorDisabled.id]);
    await s.patch(`/Users/${operatorDisabled.id}`, [{ op: 'replace', value: { active: false } }]);
    await s.patch(`/Users/${operatorDisabled.id}`, [{ op: 'replace', value: { active: true } }]);
    expect((await s.t.getUser(operatorDisabled.id)).disabledBy).toBe('operator');
  });

  it('onScimDeactivate ban and deprovision apply through the transition, cutting device access off with deprovision', async () => {
    await setPolicy({ onScimDeactivate: 'ban' });
    const a = await s.createUser();
    await s.patch(`/Users/${a.id}`, [{ op: 'Replace', path: 'active', value: 'False' }]);
    expect((await s.t.getUser(a.id)).status).toBe('banned');
    await setPolicy({ onScimDeactivate: 'deprovision' });
    const b = await s.createUser({ password: 'Corr3ct-Horse-Battery' });
    const token = await deviceToken(b.id);
    await s.patch(`/Users/${b.id}`, [{ op: 'replace', value: { active: false } }]);
    const row = await s.t.getUser(b.id);
    expect([row.status, row.disabledBy]).toEqual(['disabled', 'idp']);
    expect(await revoked(token)).toBe(true);
    expect((await audit(b.id)).at(-1)).toMatchObject({ action: 'user.scim_deactivate', actor: actor(), details: expect.objectContaining({ effects: expect.arrayContaining(['revoke_device_tokens']) }) });
    await setPolicy({});
  });

  it('DELETE per onScimDelete: delete (row kept, status deleted), deprovision (kept disabled, hidden from the IdP), permanent_delete (purge task)', async () => {
    const soft = await s.createUser();
    expect((await s.call('DELETE', `/Users/${soft.id}`)).status).toBe(204);
    expect((await s.t.getUser(soft.id)).status).toBe('deleted');
    expect((await audit(soft.id)).at(-1)).toMatchObject({ action: 'user.scim_delete', actor: actor(), details: expect.objectContaining({ to: 'deleted' }) });

    await setPolicy({ onScimDelete: 'deprovision' });
    const kept = await s.createUser();
    expect((await s.call('DELETE', `/Users/${kept.id}`)).status).toBe(204);
    const keptRow = await s.t.getUser(kept.id);
    expect([keptRow.status, keptRow.idpDeletedAt !== null]).toEqual(['disabled', true]);
    expect((await s.call('GET', `/Users/${kept.id}`)).status).toBe(404);

    await setPolicy({ onScimDelete: 'permanent_delete' });
    const gone = await s.createUser();
    expect((await s.call('DELETE', `/Users/${gone.id}`)).status).toBe(204);
    const purge = (await tasks(gone.id)).find((t) => t.type === 'purge');
    expect(purge).toMatchObject({ state: 'pending', actor: actor(), dedupe_key: `purge:${gone.id}` });
    expect((await audit(gone.id)).at(-1)).toMatchObject({ action: 'user.scim_delete', task_id: purge!.id, details: { policy: 'permanent_delete', queued: 'purge' } });
    expect((await s.call('GET', `/Users/${gone.id}`)).status).toBe(404);
    await setPolicy({});
  });

  it('terminationDate in the future schedules a deprovision task; a new date moves it; clearing cancels it', async () => {
    const when = new Date(Date.now() + 7 * 86_400_000);
    const user = await s.createUser({ [TURNOVER]: { terminationDate: when.toISOString() } });
    const [scheduled] = (await tasks(user.id)).filter((t) => t.type === 'deprovision');
    expect(scheduled).toMatchObject({ state: 'pending', dedupe_key: `termination:${user.id}`, actor: actor(), payload: { source: 'schedule' } });
    expect(new Date(scheduled!.run_at).toISOString()).toBe(when.toISOString());

    const later = new Date(when.getTime() + 86_400_000);
    await s.patch(`/Users/${user.id}`, [{ op: 'replace', path: `${TURNOVER}:terminationDate`, value: later.toISOString() }]);
    let deprovisions = (await tasks(user.id)).filter((t) => t.type === 'deprovision');
    expect(deprovisions).toHaveLength(1);
    expect(deprovisions[0]).toMatchObject({ id: scheduled!.id, state: 'pending' });
    expect(new Date(deprovisions[0]!.run_at).toISOString()).toBe(later.toISOString());
    expect((await audit(user.id)).at(-1)).toMatchObject({
      action: 'user.scim_update',
      // The audit trail shows the change as before and after.
      details: { changed: ['terminationDate'], before: { terminationDate: when.toISOString() }, after: { terminationDate: later.toISOString() } },
    });

    await s.patch(`/Users/${user.id}`, [{ op: 'remove', path: `${TURNOVER}:terminationDate` }]);
    deprovisions = (await tasks(user.id)).filter((t) => t.type === 'deprovision');
    expect(deprovisions.map((t) => t.state)).toEqual(['cancelled']);

    await s.patch(`/Users/${user.id}`, [{ op: 'add', path: `${TURNOVER}:terminationDate`, value: when.toISOString() }]);
    deprovisions = (await tasks(user.id)).filter((t) => t.type === 'deprovision');
    expect(deprovisions.map((t) => t.state)).toEqual(['cancelled', 'pending']);
  });

  it('re-creating a deleted user with the same externalId revives it instead of a duplicate', async () => {
    const externalId = `rehire-${Date.now()}`;
    const userName = uniqueName('rehire');
    const first = await s.call('POST', '/Users', { schemas: [CORE_USER], userName, externalId, password: 'Corr3ct-Horse-Battery' });
    await s.call('DELETE', `/Users/${first.body.id}`);
    const again = await s.call('POST', '/Users', { schemas: [CORE_USER], userName: userName.toUpperCase(), externalId, name: { givenName: 'Back' } });
    expect(again.status).toBe(201);
    expect(again.body).toMatchObject({ id: first.body.id, userName: userName.toUpperCase(), active: true, name: { givenName: 'Back' }, [TURNOVER]: { status: 'password_required' } });
    const row = await s.t.getUser(first.body.id);
    expect([row.status, row.passwordHash, row.idpDeletedAt]).toEqual(['password_required', null, null]);
    expect(await s.t.sql(`select count(*)::int as n from users where external_id = ?`, [externalId])).toEqual([{ n: 1 }]);
    expect((await audit(row.id)).map((a) => a.action)).toEqual(['user.create', 'user.scim_delete', 'user.scim_revive', 'user.scim_update']);
    expect((await tasks(row.id)).map((t) => t.type)).toEqual(['welcome_email']);
  });

  it('an IdP-set password activates a user waiting for one', async () => {
    const user = await s.createUser();
    await s.patch(`/Users/${user.id}`, [{ op: 'replace', path: 'password', value: 'Corr3ct-Horse-Battery' }]);
    const row = await s.t.getUser(user.id);
    expect([row.status, row.passwordHash?.startsWith('scrypt$')]).toEqual(['active', true]);
    expect((await audit(user.id)).map((a) => a.action)).toContain('user.password_set');
  });

  it('an IdP-set password for a user who is past waiting changes only the hash, audited', async () => {
    const user = await s.createUser({ password: 'First-Horse-Battery-1' });
    const before = await s.t.getUser(user.id);
    expect(before.status).toBe('active');
    await s.patch(`/Users/${user.id}`, [{ op: 'replace', path: 'password', value: 'Second-Horse-Battery-2' }]);
    const after = await s.t.getUser(user.id);
    expect([after.status, after.passwordHash !== before.passwordHash, after.version]).toEqual(['active', true, before.version + 1]);
    expect((await audit(user.id)).at(-1)).toMatchObject({ action: 'user.scim_password', actor: actor(), details: {} });
  });
});
