import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { PROCESSORS } from '../../jobs/index.ts';
import { registry } from '../../src/metrics.ts';
import { createQueueMetricsCollector } from '../../src/queue/metrics.ts';
import { apiClient, createAdminToken } from '../support/api-client.ts';
import { queueBackendsUnderTest } from '../support/database.ts';
import { useTestRuntime } from '../support/runtime.ts';

/**
 * Operations over HTTP with the real relay and workers, on each queue backend: dry run, the
 * confirmation of irreversible actions, progress while tasks run, and the task re-drives.
 */
describe.each(queueBackendsUnderTest())('admin operations on $name', ({ name, redisUrl }) => {
  const t = useTestRuntime({
    label: `admin_ops_${name}`,
    redisUrl,
    processors: PROCESSORS,
    env: { DATA_DIR: mkdtempSync(path.join(os.tmpdir(), 'turnover-admin-ops-')) },
  });
  let api: ReturnType<typeof apiClient>;
  beforeAll(async () => {
    api = apiClient(t, await createAdminToken(t, 'office_manager'));
  });

  async function addData(userId: string, kind: string, n = 1): Promise<void> {
    for (let i = 0; i < n; i++) {
      await t.sql(`insert into user_data (id, tenant_id, user_id, kind, payload) values (gen_random_uuid(), ?, ?, ?, '{}')`, [t.tenantId, userId, kind]);
    }
  }

  async function addDevice(userId: string, { pending = 0, checkedInSecondsAgo = 5 as number | null } = {}): Promise<string> {
    const [row] = await t.sql<{ id: string }>(
      `insert into devices (id, tenant_id, user_id, kind, client_id, pending_items, last_checkin_at)
       values (gen_random_uuid(), ?, ?, 'mobile_app', ?, ?, case when ?::int is null then null else now() - make_interval(secs => ?::int) end) returning id`,
      [t.tenantId, userId, `phone-${randomBytes(3).toString('hex')}`, pending, checkedInSecondsAgo, checkedInSecondsAgo],
    );
    return row!.id;
  }

  async function waitForOperation(id: string, until: (body: any) => boolean, timeoutMs = 20_000): Promise<any> {
    const started = Date.now();
    for (;;) {
      const res = await api.get(`/admin/operations/${id}`);
      expect(res.status).toBe(200);
      if (until(res.body)) return res.body;
      if (Date.now() - started > timeoutMs) throw new Error(`operation ${id} never got there: ${JSON.stringify(res.body.counts)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  it("lists the actions with the console's words, whether they can be undone and whether they take options", async () => {
    const res = await api.get('/admin/actions');
    expect(res.status).toBe(200);
    expect(res.body.actions.map((a: { action: string }) => a.action)).toEqual([
      'ban', 'unban', 'disable', 'activate', 'unlock', 'delete', 'permanent_delete', 'reset', 'recycle', 'welcome_email', 'force_password_reset', 'deprovision',
    ]);
    expect(res.body.actions.find((a: { action: string }) => a.action === 'permanent_delete')).toEqual({
      action: 'permanent_delete',
      label: 'Permanently Delete',
      description: "remove personal data and the user's records for good (GDPR); this cannot be undone",
      irreversible: true,
      takesOptions: false,
    });
    expect(res.body.actions.find((a: { action: string }) => a.action === 'recycle')).toMatchObject({ label: 'Recycle', irreversible: true, takesOptions: true });
  });

  it('serves the queue dashboard with every turnover queue to admins only', async () => {
    const adminApi = apiClient(t, await createAdminToken(t, 'admin'));
    const page = await adminApi.get('/admin/queues');
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/text\/html/);
    const queues = await adminApi.get('/admin/queues/api/queues');
    expect(queues.status).toBe(200);
    expect(queues.body.queues.map((q: { name: string }) => q.name).sort()).toEqual(['lifecycle', 'mail']);
    expect((await api.get('/admin/queues/api/queues')).status).toBe(403);
    expect((await apiClient(t).get('/admin/queues')).status).toBe(401);
  });

  it('exports queue depth, oldest waiting age, tasks by type and final state, and task durations', async () => {
    const user = await t.createUser();
    const run = await api.post('/admin/operations', { action: 'disable', userIds: [user.id] });
    await waitForOperation(run.body.operationId, (b) => b.state === 'completed');
    // A task that is due but never relayed (its run-at is in the past, the relay has not seen it).
    await t.sql(`insert into tasks (id, tenant_id, type, user_id, state, actor, run_at) values (gen_random_uuid(), ?, 'ban', ?, 'enqueued', 'test', now() - interval '90 seconds')`, [t.tenantId, user.id]);
    await createQueueMetricsCollector({ orm: t.runtime.orm, queues: t.runtime.queues })();
    const text = await registry.metrics();
    const depth = text.split('\n').filter((line) => line.startsWith('turnover_queue_depth{'));
    for (const queue of ['lifecycle', 'mail']) {
      for (const state of ['waiting', 'active', 'delayed', 'failed', 'completed']) {
        expect(depth.some((line) => new RegExp(`^turnover_queue_depth\\{queue="${queue}",state="${state}"\\} \\d+$`).test(line)), `${queue} ${state}: ${depth.join('; ')}`).toBe(true);
      }
    }
    const age = Number(/turnover_queue_oldest_waiting_seconds\{queue="lifecycle",state="enqueued"\} ([0-9.]+)/.exec(text)?.[1]);
    expect(age).toBeGreaterThanOrEqual(89);
    expect(text).toMatch(/turnover_tasks_finished_total\{type="disable",state="succeeded"\} [1-9]/);
    expect(text).toMatch(/turnover_task_duration_seconds_count\{type="disable"\} [1-9]/);
    await t.sql(`update tasks set state = 'cancelled' where type = 'ban' and user_id = ?`, [user.id]);

    const scrape = await apiClient(t).get('/metrics');
    expect(scrape.status).toBe(200);
    expect(scrape.text).toMatch(/turnover_http_requests_total\{route="\/admin\/operations",method="POST",status="202"\} [1-9]/);
  });

  const countData = async (userId: string) =>
    Object.fromEntries(
      (await t.sql<{ kind: string; n: string }>(`select kind, count(*) as n from user_data where user_id = ? group by kind`, [userId])).map((r) => [r.kind, Number(r.n)]),
    );

  it('previews a bulk reset without writing anything, then runs exactly the confirmed request', async () => {
    const users = await Promise.all([1002, 1009, 1000].map((ext) => t.createUser({ extension: String(ext), passwordHash: 'x' })));
    for (const u of users) {
      await addData(u.id, 'voicemail_message', 2);
      await addData(u.id, 'voicemail_greeting', 1);
      await addData(u.id, 'custom_contact', 3);
    }
    const userIds = users.map((u) => u.id);
    const request = { action: 'reset', userIds, options: { voicemailMessages: true, customContacts: true } };
    const before = await t.sql(`select count(*)::int as n from tasks`);

    const dry = await api.post('/admin/operations', { ...request, dryRun: true });
    expect(dry.status).toBe(200);
    expect(dry.body).toMatchObject({ dryRun: true, action: 'reset', irreversible: true, total: 3, allowed: 3, refused: 0 });
    expect(dry.body.actions).toEqual(expect.arrayContaining([expect.stringMatching(/voicemail message/i), expect.stringMatching(/own contacts/i)]));
    expect(dry.body.actions.join('\n')).not.toMatch(/greeting/i);
    expect(dry.body.actions.at(-1)).toMatch(/setup required/i);
    for (const preview of dry.body.users) {
      expect(preview).toMatchObject({ status: 'active', allowed: true, newStatus: 'setup_required', willDelete: { voicemail_message: 2, custom_contact: 3 } });
    }
    expect(dry.body.confirmToken).toMatch(/^v2\./);
    // Nothing written by the dry run.
    expect(await t.sql(`select count(*)::int as n from tasks`)).toEqual(before);
    for (const u of users) expect((await t.getUser(u.id)).status).toBe('active');

    const refused = await api.post('/admin/operations', request);
    expect(refused.status).toBe(409);
    expect(refused.body).toMatchObject({ code: 'confirmation_required', reason: 'missing' });
    const otherUsers = await api.post('/admin/operations', { ...request, userIds: userIds.slice(0, 2), confirm: dry.body.confirmToken });
    expect(otherUsers.body).toMatchObject({ code: 'confirmation_required', reason: 'mismatch' });
    const otherOptions = await api.post('/admin/operations', { ...request, options: { voicemailMessages: true }, confirm: dry.body.confirmToken });
    expect(otherOptions.body).toMatchObject({ code: 'confirmation_required', reason: 'mismatch' });
    expect(await t.sql(`select count(*)::int as n from tasks`)).toEqual(before);

    // The same request in another order of ids and keys is the same request.
    const run = await api.post('/admin/operations', {
      action: 'reset',
      options: { customContacts: true, voicemailMessages: true },
      userIds: [...userIds].reverse(),
      confirm: dry.body.confirmToken,
    });
    expect(run.status).toBe(202);
    expect(run.headers.get('location')).toBe(`/admin/operations/${run.body.operationId}`);
    expect(run.body).toMatchObject({ action: 'reset', state: 'running', total: 3 });

    const done = await waitForOperation(run.body.operationId, (b) => b.state === 'completed');
    expect(done.counts).toMatchObject({ total: 3, succeeded: 3, failed: 0, waiting: 0, running: 0 });
    expect(done.tasks.map((task: { userId: string }) => task.userId).sort()).toEqual([...userIds].sort());
    for (const u of users) {
      const after = await t.getUser(u.id);
      expect(after).toMatchObject({ status: 'setup_required', firstName: null, email: null, extension: u.extension });
      expect(await countData(u.id)).toEqual({ voicemail_greeting: 1 });
    }
    const listed = await api.get('/admin/operations?limit=50');
    expect(listed.body.operations.find((o: { id: string }) => o.id === run.body.operationId)).toMatchObject({
      action: 'reset',
      state: 'completed',
      counts: { total: 3, succeeded: 3 },
    });
    const audit = await t.sql(`select action, actor from audit_entries where action = 'operation.started' and details->>'operationId' = ?`, [run.body.operationId]);
    expect(audit).toEqual([{ action: 'operation.started', actor: expect.stringMatching(/^admin:/) }]);
  });

  it('refuses every irreversible action without confirmation, and runs reversible ones at once', async () => {
    const user = await t.createUser();
    for (const action of ['permanent_delete', 'deprovision', 'reset']) {
      const res = await api.post('/admin/operations', { action, userIds: [user.id] });
      expect(res.status, action).toBe(409);
      expect(res.headers.get('content-type')).toMatch(/problem\+json/);
      expect(res.body.code).toBe('confirmation_required');
    }
    const recycle = await api.post('/admin/operations', { action: 'recycle', userIds: [user.id], options: { users: { [user.id]: { firstName: 'N', lastName: 'P' } } } });
    expect(recycle.body.code).toBe('confirmation_required');
    expect((await t.getUser(user.id)).status).toBe('active');

    const ban = await api.post('/admin/operations', { action: 'ban', userIds: [user.id] });
    expect(ban.status).toBe(202);
    await waitForOperation(ban.body.operationId, (b) => b.state === 'completed');
    expect((await t.getUser(user.id)).status).toBe('banned');
    const entry = await t.sql(`select actor from audit_entries where user_id = ? and action = 'user.ban'`, [user.id]);
    expect(entry).toEqual([{ actor: expect.stringMatching(/^admin:[0-9a-f-]{36}$/) }]);
  });

  it('shows refusals in the preview, validates options per action, and rejects an expired or forged token', async () => {
    const active = await t.createUser();
    const disabled = await t.createUser({ status: 'disabled', disabledBy: 'operator' });
    const banned = await t.createUser({ status: 'banned' });
    const preview = await api.post('/admin/operations', { action: 'unban', userIds: [active.id, disabled.id, banned.id], dryRun: true });
    expect(preview.body).toMatchObject({ allowed: 2, refused: 1 });
    const byId = Object.fromEntries(preview.body.users.map((u: { userId: string }) => [u.userId, u]));
    expect(byId[active.id]).toMatchObject({ allowed: true, newStatus: 'active' });
    expect(byId[disabled.id]).toMatchObject({ allowed: false, newStatus: null, refusal: { code: 'not_banned', message: expect.any(String) } });
    expect(byId[banned.id]).toMatchObject({ allowed: true, newStatus: 'password_required' });
    const unlock = await api.post('/admin/operations', { action: 'unlock', userIds: [banned.id], dryRun: true });
    expect(unlock.body.users[0]).toMatchObject({ allowed: false, refusal: { code: 'user_banned' } });

    expect((await api.post('/admin/operations', { action: 'ban', userIds: [active.id], options: { voicemailMessages: true } })).status).toBe(422);
    expect((await api.post('/admin/operations', { action: 'explode', userIds: [active.id] })).status).toBe(422);
    expect((await api.post('/admin/operations', { action: 'ban', userIds: [] })).status).toBe(422);
    const noNames = await api.post('/admin/operations', { action: 'recycle', userIds: [active.id], options: { users: {} }, dryRun: true });
    expect(noNames.status).toBe(422);
    const forged = await api.post('/admin/operations', { action: 'permanent_delete', userIds: [active.id], confirm: `v2.9999999999.${'A'.repeat(22)}.${'A'.repeat(43)}` });
    expect(forged.body).toMatchObject({ code: 'confirmation_required', reason: 'mismatch' });
    expect((await api.get('/admin/operations/00000000-0000-4000-8000-000000000000')).status).toBe(404);
  });

  const operationsOf = async (userId: string) =>
    (await t.sql<{ id: string }>(`select distinct operation_id as id from tasks where user_id = ? and operation_id is not null`, [userId])).map((r) => r.id);

  it('starts one operation per confirm token: sent again, it answers 409 confirmation_used naming the first operation', async () => {
    const user = await t.createUser();
    const request = { action: 'deprovision', userIds: [user.id] };
    const dry = await api.post('/admin/operations', { ...request, dryRun: true });
    const first = await api.post('/admin/operations', { ...request, confirm: dry.body.confirmToken });
    expect(first.status).toBe(202);
    const again = await api.post('/admin/operations', { ...request, confirm: dry.body.confirmToken });
    expect(again.status).toBe(409);
    expect(again.headers.get('content-type')).toMatch(/problem\+json/);
    expect(again.body).toMatchObject({ code: 'confirmation_used', operationId: first.body.operationId });
    expect(again.body.detail).toContain(first.body.operationId);
    expect(await operationsOf(user.id)).toEqual([first.body.operationId]);

    // A new preview of the same request gives a new token, good for one more run.
    const second = await api.post('/admin/operations', { ...request, dryRun: true });
    expect(second.body.confirmToken).not.toBe(dry.body.confirmToken);
  });

  it('starts exactly one operation from identical confirmed requests sent at once (a double click)', async () => {
    const user = await t.createUser();
    const request = { action: 'reset', userIds: [user.id] };
    const dry = await api.post('/admin/operations', { ...request, dryRun: true });
    const answers = await Promise.all(Array.from({ length: 4 }, () => api.post('/admin/operations', { ...request, confirm: dry.body.confirmToken })));
    const accepted = answers.filter((a) => a.status === 202);
    expect(accepted).toHaveLength(1);
    const operationId = accepted[0]!.body.operationId;
    for (const refused of answers.filter((a) => a.status !== 202)) {
      expect(refused.status).toBe(409);
      expect(refused.body).toMatchObject({ code: 'confirmation_used', operationId });
    }
    expect(await operationsOf(user.id)).toEqual([operationId]);
    expect(await t.sql(`select count(*)::int as n from audit_entries where action = 'operation.started' and details->>'operationId' = ?`, [operationId])).toEqual([{ n: 1 }]);
  });

  it('resets and hands the seat over in one task (Reset App Access), even when the reset waited on the device', async () => {
    const seat = await t.createUser({ firstName: 'Ann', lastName: 'New' }); // the operator typed the new person in first
    const device = await addDevice(seat.id, { pending: 3 });
    const handOver = { users: { [seat.id]: { firstName: 'Ann', lastName: 'New', email: 'ann.new@example.org' } } };
    const missing = await api.post('/admin/operations', { action: 'reset', userIds: [seat.id], handOver: { users: {} }, dryRun: true });
    expect(missing.status).toBe(422);
    const dry = await api.post('/admin/operations', { action: 'reset', userIds: [seat.id], handOver, dryRun: true });
    expect(dry.status, JSON.stringify(dry.body)).toBe(200);
    const run = await api.post('/admin/operations', { action: 'reset', userIds: [seat.id], handOver, confirm: dry.body.confirmToken });
    expect(run.status).toBe(202);
    await waitForOperation(run.body.operationId, (b) => b.counts.waiting === 1);
    // Nobody is watching any more; the phone finishes uploading and checks in.
    await t.sql(`update devices set pending_items = 0, last_checkin_at = now() where id = ?`, [device]);
    const [task] = await t.sql<{ id: string }>(`select id from tasks where operation_id = ?`, [run.body.operationId]);
    expect((await api.post(`/admin/tasks/${task!.id}/retry`)).status).toBe(200);
    const done = await waitForOperation(run.body.operationId, (b) => b.state === 'completed');
    expect(done.counts).toMatchObject({ total: 1, succeeded: 1 });
    const user = await t.getUser(seat.id);
    expect([user.status, user.firstName, user.lastName, user.email]).toEqual(['password_required', 'Ann', 'New', 'ann.new@example.org']);
    const audit = await t.sql<{ action: string }>(`select action from audit_entries where user_id = ? and task_id = ? order by id`, [seat.id, task!.id]);
    expect(audit.map((a) => a.action)).toEqual(['task.retry', 'user.reset', 'user.recycle']);
    // No welcome e-mail: the operator hands over a generated password instead.
    expect(await t.sql(`select 1 from tasks where user_id = ? and type = 'welcome_email'`, [seat.id])).toEqual([]);
  });

  it('shows progress while it runs: a reset waiting on a device, a needs_decision one skipped with confirmation, a retry', async () => {
    const plain = await t.createUser();
    const uploading = await t.createUser();
    const offline = await t.createUser();
    const uploadingDevice = await addDevice(uploading.id, { pending: 4 });
    await addDevice(offline.id, { pending: 2, checkedInSecondsAgo: 3600 });
    const userIds = [plain.id, uploading.id, offline.id];
    const dry = await api.post('/admin/operations', { action: 'reset', userIds, dryRun: true });
    expect(dry.status, JSON.stringify(dry.body)).toBe(200);
    const byId = Object.fromEntries(dry.body.users.map((u: { userId: string }) => [u.userId, u]));
    expect(byId[uploading.id].pendingData).toEqual({ decision: 'wait', pendingItems: 4 });
    expect(byId[offline.id].pendingData).toEqual({ decision: 'needs_decision', pendingItems: 2 });

    const run = await api.post('/admin/operations', { action: 'reset', userIds, confirm: dry.body.confirmToken });
    expect(run.status).toBe(202);
    const midway = await waitForOperation(run.body.operationId, (b) => b.counts.succeeded === 1 && b.counts.waiting === 2);
    expect(midway.state).toBe('running');
    const states = Object.fromEntries(midway.tasks.map((task: { userId: string; state: string }) => [task.userId, task]));
    expect(states[uploading.id].state).toBe('waiting_for_device');
    expect(states[offline.id]).toMatchObject({ state: 'needs_decision', reason: 'unable_to_retrieve' });

    const stuck = await api.get(`/admin/tasks/${states[offline.id].taskId}`);
    expect(stuck.body).toMatchObject({ type: 'reset', state: 'needs_decision', reason: 'unable_to_retrieve', result: { pendingData: { pendingItems: 2 } } });
    const unconfirmed = await api.post(`/admin/tasks/${states[offline.id].taskId}/skip-pending-data`, {});
    expect(unconfirmed.status).toBe(409);
    expect(unconfirmed.body.code).toBe('confirmation_required');
    const skipped = await api.post(`/admin/tasks/${states[offline.id].taskId}/skip-pending-data`, { confirmDataLoss: true });
    expect(skipped.status).toBe(200);
    expect(skipped.body).toMatchObject({ from: 'needs_decision', action: 'requeued' });

    // The phone finishes uploading; "Retry Now" lets the reset go on.
    await t.sql(`update devices set pending_items = 0, last_checkin_at = now() where id = ?`, [uploadingDevice]);
    const retried = await api.post(`/admin/tasks/${states[uploading.id].taskId}/retry`);
    expect(retried.status).toBe(200);
    expect(retried.body.from).toBe('waiting_for_device');

    const done = await waitForOperation(run.body.operationId, (b) => b.state === 'completed');
    expect(done.counts).toMatchObject({ total: 3, succeeded: 3, waiting: 0 });
    expect(done.finishedAt).not.toBeNull();
    const skipAudit = await t.sql(`select actor from audit_entries where task_id = ? and action = 'task.skip_pending_data'`, [states[offline.id].taskId]);
    expect(skipAudit).toEqual([{ actor: expect.stringMatching(/^admin:/) }]);
    const again = await api.post(`/admin/tasks/${states[offline.id].taskId}/retry`);
    expect(again.status).toBe(409);
    expect(again.body).toMatchObject({ code: 'not_retryable', state: 'succeeded' });

    const inbox = await api.get(`/admin/tasks?userId=${offline.id}&state=succeeded,failed`);
    expect(inbox.body.tasks.map((task: { id: string }) => task.id)).toEqual([states[offline.id].taskId]);
  });
});


