import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes, randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { PROCESSORS } from '../../jobs/index.ts';
import type { ResetOptions } from '../../src/lifecycle/policy.ts';
import { DEFAULT_ANSWERING_RULE } from '../../src/lifecycle/reset-plan.ts';
import { retryTaskNow, skipPendingData, wakeTasksWaitingForDevice } from '../../src/queue/redrive.ts';
import { insertApiToken } from '../../src/store/tokens.ts';
import type { Task } from '../../src/store/entities/index.ts';
import { queueBackendsUnderTest } from '../support/database.ts';
import { useTestRuntime } from '../support/runtime.ts';

/**
 * The reset and recycle processors end to end (DESIGN.md §2 "Reset options", "App access reset
 * with pending data"), and the operator's re-drive actions, on each queue backend.
 */
describe.each(queueBackendsUnderTest())('reset and recycle on $name', ({ name, redisUrl }) => {
  const t = useTestRuntime({
    label: `jobs_reset_${name}`,
    redisUrl,
    roles: { api: false, relay: true, workers: true },
    processors: PROCESSORS,
    // Any mail a queued welcome_email sends stays out of the working tree.
    env: { DATA_DIR: mkdtempSync(path.join(os.tmpdir(), 'turnover-reset-test-')) },
  });
  const OPERATOR = 'operator:test';

  // ---- fixtures -------------------------------------------------------------------------------

  async function addData(userId: string | null, kind: string, payload: Record<string, unknown> = {}): Promise<string> {
    const [row] = await t.sql<{ id: string }>(
      `insert into user_data (id, tenant_id, user_id, kind, payload) values (gen_random_uuid(), ?, ?, ?, ?::jsonb) returning id`,
      [t.tenantId, userId, kind, JSON.stringify(payload)],
    );
    return row!.id;
  }

  /** `checkedIn`: seconds since its last check-in, or null for never. */
  async function addDevice(
    userId: string,
    kind: 'mobile_app' | 'desktop_app' | 'soft_phone' | 'desk_phone',
    { pending = 0, checkedIn = 10 as number | null, removed = false } = {},
  ): Promise<string> {
    const [row] = await t.sql<{ id: string }>(
      `insert into devices (id, tenant_id, user_id, kind, client_id, mac, pending_items, last_checkin_at, removed_at)
       values (gen_random_uuid(), ?, ?, ?, ?, ?, ?, case when ?::int is null then null else now() - make_interval(secs => ?::int) end,
               case when ? then now() else null end)
       returning id`,
      [t.tenantId, userId, kind, `${kind}-${randomBytes(3).toString('hex')}`, kind === 'desk_phone' ? '00:11:22:33:44:55' : null, pending, checkedIn, checkedIn, removed],
    );
    return row!.id;
  }

  /** A device checks in now with this many items pending (what the client API will write). */
  async function checkIn(deviceId: string, pending: number): Promise<void> {
    await t.sql(`update devices set pending_items = ?, last_checkin_at = now() where id = ?`, [pending, deviceId]);
  }

  /**
   * An occupied seat with one of everything a reset may touch: voicemail, greetings, rules, own
   * and shared contacts, an uploaded app record, a number, soft and desk phones, a device token.
   */
  async function seat() {
    const user = await t.createUser({
      extension: String(2000 + Math.floor(Math.random() * 7000)),
      department: 'Support',
      role: 'call_center_agent',
      passwordHash: 'old-password-hash',
      pinHash: 'old-pin-hash',
    });
    await addData(user.id, 'voicemail_message', { folder: 'new' });
    await addData(user.id, 'voicemail_message', { folder: 'trash' });
    await addData(user.id, 'voicemail_greeting', { name: 'busy' });
    await addData(user.id, 'answering_rule', { name: 'after hours' });
    await addData(user.id, 'answering_rule', { name: 'lunch' });
    await addData(user.id, 'custom_contact', { name: 'Mom' });
    await addData(user.id, 'app_record', { note: 'uploaded by the app' });
    const sharedContact = await addData(null, 'shared_contact', { name: 'Front desk', seat: user.id });
    const number = `+1555${String(Math.floor(Math.random() * 1e7)).padStart(7, '0')}`;
    await t.sql(`insert into phone_numbers (id, tenant_id, number, state, user_id, assigned_at) values (gen_random_uuid(), ?, ?, 'assigned', ?, now())`, [
      t.tenantId,
      number,
      user.id,
    ]);
    await addDevice(user.id, 'soft_phone');
    await addDevice(user.id, 'desk_phone');
    const em = t.runtime.orm.em.fork();
    const { record: token } = insertApiToken(em, { tenantId: t.tenantId, kind: 'device', userId: user.id, actor: 'test' });
    await em.flush();
    return { user, sharedContact, number, tokenId: token.id };
  }

  const dataCounts = async (userId: string) =>
    Object.fromEntries(
      (await t.sql<{ kind: string; n: number }>(`select kind, count(*)::int as n from user_data where user_id = ? group by kind`, [userId])).map((r) => [
        r.kind,
        r.n,
      ]),
    );
  const deviceKinds = async (userId: string) =>
    (await t.sql<{ kind: string }>(`select kind from devices where user_id = ? order by kind`, [userId])).map((r) => r.kind);

  /** Everything a reset may change, ids left out (the default rule is put back as a new row). */
  async function snapshot(userId: string) {
    const user = await t.getUser(userId);
    return {
      user: {
        status: user.status,
        firstName: user.firstName,
        lastName: user.lastName,
        displayName: user.displayName,
        email: user.email,
        emails: user.emails,
        passwordHash: user.passwordHash,
        pinHash: user.pinHash,
        extension: user.extension,
        department: user.department,
        role: user.role,
      },
      data: await t.sql(`select kind, payload from user_data where user_id = ? order by kind, payload::text`, [userId]),
      devices: await t.sql(`select kind, client_id, mac from devices where user_id = ? order by client_id`, [userId]),
      numbers: await t.sql(`select number, state from phone_numbers where user_id = ? order by number`, [userId]),
      liveTokens: await t.sql(`select id from api_tokens where user_id = ? and revoked_at is null`, [userId]),
    };
  }

  const reset = (userId: string, options: Partial<ResetOptions> = {}, extra: Partial<Task> = {}) =>
    t.createTask('reset', userId, { options }, extra);

  async function audit(taskId: string, action: string) {
    return t.sql<{ actor: string; details: Record<string, unknown> }>(`select actor, details from audit_entries where task_id = ? and action = ? order by id`, [
      taskId,
      action,
    ]);
  }

  async function waitUntil<T>(read: () => Promise<T>, ok: (value: T) => boolean, timeoutMs = 15_000): Promise<T> {
    const started = Date.now();
    for (;;) {
      const value = await read();
      if (ok(value)) return value;
      if (Date.now() - started > timeoutMs) throw new Error(`condition not met in ${timeoutMs} ms; last value ${JSON.stringify(value)}`);
      await new Promise((r) => setTimeout(r, 40));
    }
  }
  const getTask = (id: string) => t.waitForTask(id, ['pending', 'enqueued', 'running', 'waiting_for_device', 'needs_decision', 'held', 'succeeded', 'failed', 'cancelled']);

  // ---- reset: what it clears ------------------------------------------------------------------

  it('clears the selected items and the always-cleared ones, and nothing else; the seat stays setup_required', async () => {
    const { user, sharedContact, number, tokenId } = await seat();
    await addDevice(user.id, 'mobile_app', { pending: 0, checkedIn: 5 });
    const id = await reset(user.id, { voicemailMessages: true, unassignPhoneNumber: true });
    const task = await t.waitForTask(id, ['succeeded']);
    expect(task.result).toMatchObject({ from: 'active', to: 'setup_required', changed: true, pendingData: { checked: true, decision: 'proceed', pendingItems: 0 } });

    const after = await t.getUser(user.id);
    expect(after).toMatchObject({
      status: 'setup_required',
      firstName: null,
      lastName: null,
      displayName: null,
      email: null,
      emails: [],
      passwordHash: null,
      pinHash: null,
      // The seat is kept for the next person.
      extension: user.extension,
      department: 'Support',
      role: 'call_center_agent',
    });
    // Voicemail messages gone; greetings, rules, own contacts and app records untouched.
    expect(await dataCounts(user.id)).toEqual({ voicemail_greeting: 1, answering_rule: 2, custom_contact: 1, app_record: 1 });
    expect(await t.sql(`select kind, user_id from user_data where id = ?`, [sharedContact])).toEqual([{ kind: 'shared_contact', user_id: null }]);
    expect(await t.sql(`select state, user_id, assigned_at from phone_numbers where number = ?`, [number])).toEqual([
      { state: 'available', user_id: null, assigned_at: null },
    ]);
    // Soft phones always go; desk phones and the app stay without removeDeviceLines.
    expect(await deviceKinds(user.id)).toEqual(['desk_phone', 'mobile_app']);
    expect((await t.sql<{ revoked_at: Date | null }>(`select revoked_at from api_tokens where id = ?`, [tokenId]))[0]!.revoked_at).not.toBeNull();
    expect(await audit(id, 'user.reset')).toHaveLength(1);
  });

  it('with answeringRules deletes every rule and puts back exactly one default rule', async () => {
    const { user } = await seat();
    await t.waitForTask(await reset(user.id, { answeringRules: true }), ['succeeded']);
    expect(await t.sql(`select payload from user_data where user_id = ? and kind = 'answering_rule'`, [user.id])).toEqual([{ payload: DEFAULT_ANSWERING_RULE }]);
    expect(await dataCounts(user.id)).toEqual({ voicemail_message: 2, voicemail_greeting: 1, answering_rule: 1, custom_contact: 1, app_record: 1 });
  });

  it('with removeDeviceLines removes desk phones, soft phones and apps', async () => {
    const { user } = await seat();
    await addDevice(user.id, 'mobile_app');
    expect(await deviceKinds(user.id)).toEqual(['desk_phone', 'mobile_app', 'soft_phone']);
    await t.waitForTask(await reset(user.id, { removeDeviceLines: true }), ['succeeded']);
    expect(await deviceKinds(user.id)).toEqual([]);
  });

  it('resets a user with no registered device at once: no app data to wait for', async () => {
    const user = await t.createUser({ extension: '3100' });
    const task = await t.waitForTask(await reset(user.id), ['succeeded']);
    expect(task.attempts).toBe(1);
    expect(task.result).toMatchObject({ pendingData: { checked: true, decision: 'proceed', pendingItems: 0, devices: [] } });
    expect((await t.getUser(user.id)).status).toBe('setup_required');
  });

  it('running the same reset twice leaves the same data as one run', async () => {
    const { user } = await seat();
    await addDevice(user.id, 'mobile_app');
    const options = { voicemailMessages: true, answeringRules: true, customContacts: true };
    await t.waitForTask(await reset(user.id, options), ['succeeded']);
    const once = await snapshot(user.id);
    const second = await t.waitForTask(await reset(user.id, options), ['succeeded']);
    expect(await snapshot(user.id)).toEqual(once);
    expect(once.data).toEqual([
      { kind: 'answering_rule', payload: DEFAULT_ANSWERING_RULE },
      { kind: 'app_record', payload: { note: 'uploaded by the app' } },
      { kind: 'voicemail_greeting', payload: { name: 'busy' } },
    ]);
    // The first reset revoked the apps' access: nothing can arrive from them, so no second check.
    expect(second.result).toMatchObject({ from: 'setup_required', to: 'setup_required', changed: false, pendingData: { checked: false } });
  });

  it('fails at once with the refusal for a deleted user, without waiting on their uploading phone', async () => {
    const user = await t.createUser({ status: 'deleted' });
    await addDevice(user.id, 'mobile_app', { pending: 3 });
    const task = await t.waitForTask(await reset(user.id), ['failed']);
    expect([task.attempts, task.lastError]).toEqual([1, expect.stringMatching(/^user_deleted: /)]);
  });

  // ---- reset: pending data on the user's apps ---------------------------------------------------

  it('waits for an online device with pending items, then goes on when it checks in with none', async () => {
    const { user } = await seat();
    const phone = await addDevice(user.id, 'mobile_app', { pending: 3 });
    await addDevice(user.id, 'desktop_app', { pending: 0 });
    // Ten earlier attempts: the backoff is at its 5-minute cap, so only the wake-up can finish it in time.
    const id = await reset(user.id, {}, { attempts: 10 });
    const waiting = await t.waitForTask(id, ['waiting_for_device']);
    expect(waiting.attempts).toBe(11);
    expect(waiting.result).toMatchObject({
      pendingData: { decision: 'wait', retryInMs: 300_000, pendingItems: 3, devices: [{ id: phone, state: 'online', pendingItems: 3 }, { state: 'online', pendingItems: 0 }] },
    });
    // Nothing is cleared while it waits.
    expect((await t.getUser(user.id)).status).toBe('active');
    expect(await dataCounts(user.id)).toMatchObject({ app_record: 1 });

    await checkIn(phone, 0);
    expect(await wakeTasksWaitingForDevice(t.runtime.orm, t.runtime.queues, user.id)).toEqual([id]);
    const done = await t.waitForTask(id, ['succeeded'], 15_000);
    expect(done.attempts).toBe(12);
    expect(done.result).toMatchObject({ to: 'setup_required', pendingData: { decision: 'proceed', pendingItems: 0, skipped: false } });
  });

  it('"retry now" on a waiting task looks at the devices again at once', async () => {
    const user = await t.createUser();
    await addDevice(user.id, 'mobile_app', { pending: 2 });
    const id = await reset(user.id, {}, { attempts: 10 });
    await t.waitForTask(id, ['waiting_for_device']);
    const retried = await retryTaskNow(t.runtime.orm, t.runtime.queues, id, OPERATOR);
    expect(retried).toEqual({ ok: true, taskId: id, from: 'waiting_for_device', action: 'promoted' });
    // Still uploading: it ran again (one more attempt) and waits again.
    const again = await waitUntil(() => getTask(id), (task) => task.attempts === 12 && task.state === 'waiting_for_device');
    expect(again.result).toMatchObject({ pendingData: { decision: 'wait', pendingItems: 2 } });
    expect(await audit(id, 'task.retry')).toEqual([{ actor: OPERATOR, details: expect.objectContaining({ from: 'waiting_for_device', action: 'promoted' }) }]);
    // Leave nothing parked for the other tests' workers.
    await t.sql(`update tasks set state = 'cancelled' where id = ?`, [id]);
  });

  it('stops in needs_decision when a device is offline; skipping needs confirmation and is audited as data loss', async () => {
    const { user } = await seat();
    await addDevice(user.id, 'mobile_app', { pending: 4, checkedIn: 3600 });
    await addDevice(user.id, 'desktop_app', { pending: 0, checkedIn: 5 });
    const id = await reset(user.id, { voicemailMessages: true });
    const stuck = await t.waitForTask(id, ['needs_decision']);
    expect(stuck.reason).toBe('unable_to_retrieve');
    expect(stuck.result).toMatchObject({ pendingData: { decision: 'needs_decision', pendingItems: 4, devices: [{ state: 'offline', blocking: true }, { state: 'online', blocking: false }] } });
    expect((await t.getUser(user.id)).status).toBe('active');
    expect(await dataCounts(user.id)).toMatchObject({ voicemail_message: 2 });

    const unconfirmed = await skipPendingData(t.runtime.orm, t.runtime.queues, id, OPERATOR, { confirmDataLoss: 'yes' });
    expect(unconfirmed).toMatchObject({ ok: false, refusal: { code: 'confirmation_required', state: 'needs_decision' } });
    expect(await skipPendingData(t.runtime.orm, t.runtime.queues, id, OPERATOR, {})).toMatchObject({ refusal: { code: 'confirmation_required' } });
    expect((await getTask(id)).state).toBe('needs_decision');

    const skipped = await skipPendingData(t.runtime.orm, t.runtime.queues, id, OPERATOR, { confirmDataLoss: true });
    expect(skipped).toEqual({ ok: true, taskId: id, from: 'needs_decision', action: 'requeued' });
    const done = await t.waitForTask(id, ['succeeded']);
    expect(done.payload).toMatchObject({ skipPendingData: true, options: { voicemailMessages: true } });
    expect(done.result).toMatchObject({ to: 'setup_required', pendingData: { skipped: true, decision: 'needs_decision', pendingItems: 4 } });
    expect(await dataCounts(user.id)).not.toHaveProperty('voicemail_message');

    expect(await audit(id, 'task.skip_pending_data')).toEqual([
      { actor: OPERATOR, details: expect.objectContaining({ from: 'needs_decision', confirmDataLoss: true, pendingItems: 4 }) },
    ]);
    expect(await audit(id, 'task.pending_data_skipped')).toEqual([
      { actor: 'test', details: expect.objectContaining({ dataLoss: true, wouldHaveBeen: 'needs_decision', pendingItems: 4, devices: expect.any(Array) }) },
    ]);
  });

  it('skips pending data of a task waiting on a device: the parked job runs now with the flag', async () => {
    const user = await t.createUser();
    await addDevice(user.id, 'mobile_app', { pending: 6 });
    const id = await reset(user.id, {}, { attempts: 10 });
    await t.waitForTask(id, ['waiting_for_device']);
    const skipped = await skipPendingData(t.runtime.orm, t.runtime.queues, id, OPERATOR, { confirmDataLoss: true });
    expect(skipped).toEqual({ ok: true, taskId: id, from: 'waiting_for_device', action: 'promoted' });
    const done = await t.waitForTask(id, ['succeeded']);
    expect(done.result).toMatchObject({ pendingData: { skipped: true, decision: 'wait', pendingItems: 6 } });
    expect(await audit(id, 'task.pending_data_skipped')).toHaveLength(1);
  });

  it('"retry" on a needs_decision task runs it again, which goes on once the device is back', async () => {
    const user = await t.createUser();
    const phone = await addDevice(user.id, 'mobile_app', { pending: 1, checkedIn: null });
    const id = await reset(user.id);
    expect((await t.waitForTask(id, ['needs_decision'])).attempts).toBe(1);
    await checkIn(phone, 0);
    expect(await retryTaskNow(t.runtime.orm, t.runtime.queues, id, OPERATOR)).toEqual({ ok: true, taskId: id, from: 'needs_decision', action: 'requeued' });
    const done = await t.waitForTask(id, ['succeeded']);
    expect(done).toMatchObject({ attempts: 2, reason: null, result: { pendingData: { decision: 'proceed', skipped: false } } });
    expect(await audit(id, 'task.retry')).toHaveLength(1);
    expect(await audit(id, 'task.pending_data_skipped')).toEqual([]);
  });

  it('refuses re-drives that do not apply, with typed refusals, and changes nothing', async () => {
    const user = await t.createUser();
    const done = await t.waitForTask(await reset(user.id), ['succeeded']);
    const q = t.runtime.queues;
    expect(await retryTaskNow(t.runtime.orm, q, done.id, OPERATOR)).toMatchObject({ ok: false, refusal: { code: 'not_retryable', state: 'succeeded' } });
    expect(await skipPendingData(t.runtime.orm, q, done.id, OPERATOR, { confirmDataLoss: true })).toMatchObject({
      refusal: { code: 'not_skippable', state: 'succeeded' },
    });
    const ban = await t.createTask('ban', user.id, {}, { state: 'needs_decision' });
    expect(await skipPendingData(t.runtime.orm, q, ban, OPERATOR, { confirmDataLoss: true })).toMatchObject({ refusal: { code: 'not_skippable' } });
    expect(await retryTaskNow(t.runtime.orm, q, randomUUID(), OPERATOR)).toMatchObject({ refusal: { code: 'task_not_found' } });
    expect(await retryTaskNow(t.runtime.orm, q, 'not-a-uuid', OPERATOR)).toMatchObject({ refusal: { code: 'task_not_found' } });
    // Scoped to another tenant, the task does not exist.
    expect(await retryTaskNow(t.runtime.orm, q, ban, OPERATOR, { tenantId: randomUUID() })).toMatchObject({ refusal: { code: 'task_not_found' } });
    expect((await getTask(done.id)).state).toBe('succeeded');
    expect((await getTask(ban)).state).toBe('needs_decision');
    expect(await t.sql(`select 1 from audit_entries where task_id in (?, ?) and action like 'task.%'`, [done.id, ban])).toEqual([]);
  });

  // ---- recycle --------------------------------------------------------------------------------

  it('recycles a reset seat to a new person: password_required, new name and email, extension kept, welcome email queued', async () => {
    const { user } = await seat();
    await t.waitForTask(await reset(user.id, { voicemailMessages: true }), ['succeeded']);
    const id = await t.createTask('recycle', user.id, { firstName: ' River ', lastName: 'Tam', email: 'river.tam@example.org', sendWelcome: true });
    const task = await t.waitForTask(id, ['succeeded']);
    expect(task.result).toMatchObject({ from: 'setup_required', to: 'password_required', changed: true });
    expect(await t.getUser(user.id)).toMatchObject({
      status: 'password_required',
      firstName: 'River',
      lastName: 'Tam',
      displayName: 'River Tam',
      email: 'river.tam@example.org',
      emails: [{ value: 'river.tam@example.org', type: 'work', primary: true }],
      passwordHash: null,
      extension: user.extension,
      department: 'Support',
      role: 'call_center_agent',
    });
    // What the reset kept is still there for the new person.
    expect(await dataCounts(user.id)).toMatchObject({ voicemail_greeting: 1, answering_rule: 2, custom_contact: 1 });
    expect(await t.sql(`select type, payload from tasks where user_id = ? and type = 'welcome_email'`, [user.id])).toEqual([
      { type: 'welcome_email', payload: { purpose: 'welcome' } },
    ]);
  });

  it('recycles without a welcome email when not asked, and without an email address', async () => {
    const user = await t.createUser({ extension: '3200' });
    await t.waitForTask(await reset(user.id), ['succeeded']);
    await t.waitForTask(await t.createTask('recycle', user.id, { firstName: 'Zoe', lastName: 'Washburne' }), ['succeeded']);
    expect(await t.getUser(user.id)).toMatchObject({ status: 'password_required', firstName: 'Zoe', email: null, extension: '3200' });
    expect(await t.sql(`select 1 from tasks where user_id = ? and type = 'welcome_email'`, [user.id])).toEqual([]);
  });

  it('fails to recycle a user who was not reset, permanently with not_reset; once reset, a retry of that task succeeds', async () => {
    const user = await t.createUser({ firstName: 'Jayne', lastName: 'Cobb' });
    const id = await t.createTask('recycle', user.id, { firstName: 'Simon', lastName: 'Tam' });
    const failed = await t.waitForTask(id, ['failed']);
    expect([failed.attempts, failed.lastError]).toEqual([1, expect.stringMatching(/^not_reset: /)]);
    expect(await t.getUser(user.id)).toMatchObject({ status: 'active', firstName: 'Jayne' });

    await t.waitForTask(await reset(user.id), ['succeeded']);
    // The failed job is still in the queue; the retry must clear it or the relay's add is ignored.
    expect(await retryTaskNow(t.runtime.orm, t.runtime.queues, id, OPERATOR)).toEqual({ ok: true, taskId: id, from: 'failed', action: 'requeued' });
    const done = await t.waitForTask(id, ['succeeded']);
    expect(done.attempts).toBe(2);
    expect(await t.getUser(user.id)).toMatchObject({ status: 'password_required', firstName: 'Simon', lastName: 'Tam' });
  });

  it('fails a recycle with a malformed payload at once instead of retrying', async () => {
    const user = await t.createUser({ status: 'setup_required' });
    const task = await t.waitForTask(await t.createTask('recycle', user.id, { lastName: 'Tam' } as never), ['failed']);
    expect([task.attempts, task.lastError]).toEqual([1, expect.stringMatching(/^invalid_payload: /)]);
    expect((await t.getUser(user.id)).status).toBe('setup_required');
  });
});
