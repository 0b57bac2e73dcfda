import { randomBytes, randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { PROCESSORS } from '../../jobs/index.ts';
import { apiClient, createAdminToken } from '../support/api-client.ts';
import { useTestRuntime } from '../support/runtime.ts';

/**
 * Operations on a selection (the user list's filters instead of userIds): the dry run counts every
 * matched user and shows a sample; the confirmed run acts on exactly the users resolved at the dry
 * run; the request is validated like any other. One queue backend: nothing here depends on which.
 */
describe('admin operations on a selection', () => {
  const t = useTestRuntime({ label: 'admin_selection', processors: PROCESSORS });
  let api: ReturnType<typeof apiClient>;
  beforeAll(async () => {
    api = apiClient(t, await createAdminToken(t, 'office_manager'));
  });

  /** A word no other test's users carry: a selection `q` of it matches only this test's users. */
  const tag = () => `sel${randomBytes(4).toString('hex')}`;

  /** `n` users named after `word`, in `status`, last active `idleDays` ago (sign-in and status change). */
  async function addUsers(word: string, n: number, fields: { status?: string; idleDays?: number; role?: string } = {}): Promise<string[]> {
    const batch = randomBytes(3).toString('hex');
    const rows = await t.sql<{ id: string }>(
      `insert into users (id, tenant_id, user_name, first_name, last_name, email, status, role, password_hash, last_signin_at, status_changed_at, created_at)
       select gen_random_uuid(), ?, ? || '.' || g || '.' || ? || '@example.org', 'Sel', ? || ' ' || g, ? || '.' || g || '.' || ? || '@example.org', ?, ?, 'x',
              now() - make_interval(days => ?), now() - make_interval(days => ?), clock_timestamp()
         from generate_series(1, ?) g returning id`,
      [t.tenantId, word, batch, word, word, batch, fields.status ?? 'active', fields.role ?? 'basic_user', fields.idleDays ?? 0, fields.idleDays ?? 0, n],
    );
    return rows.map((r) => r.id);
  }

  async function waitForOperation(id: string): Promise<any> {
    const started = Date.now();
    for (;;) {
      const res = await api.get(`/admin/operations/${id}`);
      expect(res.status).toBe(200);
      if (res.body.state === 'completed') return res.body;
      if (Date.now() - started > 20_000) throw new Error(`operation ${id} did not finish: ${JSON.stringify(res.body.counts)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  it('counts every matched user as a dry run of the same users by id would, and shows the first 50 in list order', async () => {
    const word = tag();
    const active = await addUsers(word, 40);
    const disabled = await addUsers(word, 15, { status: 'disabled' });
    const deleted = await addUsers(word, 5, { status: 'deleted' });
    const selection = { q: word };

    const preview = await api.post('/admin/operations', { action: 'unban', selection, dryRun: true });
    expect(preview.status).toBe(200);
    const byIds = await api.post('/admin/operations', { action: 'unban', userIds: [...active, ...disabled], dryRun: true });
    expect(byIds.status).toBe(200);
    // Deleted users are hidden from the list, so from its selection too.
    expect(preview.body).toMatchObject({ total: 55, byStatus: { active: 40, disabled: 15 }, selection });
    for (const field of ['total', 'allowed', 'refused', 'byStatus', 'refusedBy', 'actions', 'irreversible'] as const) {
      expect(preview.body[field], field).toEqual(byIds.body[field]);
    }
    expect(preview.body).toMatchObject({ allowed: 40, refused: 15, refusedBy: { not_banned: 15 } });
    expect(preview.body.users).toHaveLength(50);
    const listed = await api.get(`/admin/users?q=${word}&limit=50`);
    expect(preview.body.users.map((u: { userId: string }) => u.userId)).toEqual(listed.body.users.map((u: { id: string }) => u.id));
    expect(preview.body.users.some((u: { userId: string }) => deleted.includes(u.userId))).toBe(false);
    expect((await api.get(`/admin/users/count?q=${word}`)).body).toEqual({ count: 55 });
    expect((await api.get(`/admin/users/count?q=${word}&status=deleted`)).body).toEqual({ count: 5 });
    // The dry run changed nobody.
    const [active40] = await t.sql<{ n: string }>(`select count(*) as n from users where last_name like ? and status = 'active'`, [`${word}%`]);
    expect(Number(active40!.n)).toBe(40);
  });

  it('runs on exactly the users its dry run resolved: one who matches only afterwards is left alone', async () => {
    const word = tag();
    const [idle] = (await addUsers(word, 1, { idleDays: 120 })) as [string];
    const [recent] = (await addUsers(word, 1, { idleDays: 2 })) as [string];
    const selection = { q: word, inactiveSince: new Date(Date.now() - 90 * 86_400_000).toISOString() };
    expect((await api.get(`/admin/users?q=${word}&inactiveSince=${encodeURIComponent(selection.inactiveSince)}`)).body.users.map((u: { id: string }) => u.id)).toEqual([idle]);

    const preview = await api.post('/admin/operations', { action: 'disable', selection, dryRun: true });
    expect(preview.status).toBe(200);
    expect(preview.body).toMatchObject({ total: 1, allowed: 1, users: [{ userId: idle, newStatus: 'disabled' }] });

    // After the preview: the recent user goes idle too (now matches), the idle one signs in (no longer does).
    await t.sql(`update users set last_signin_at = now() - interval '200 days', status_changed_at = now() - interval '200 days' where id = ?`, [recent]);
    await t.sql(`update users set last_signin_at = now() where id = ?`, [idle]);
    expect((await api.get(`/admin/users/count?q=${word}&inactiveSince=${encodeURIComponent(selection.inactiveSince)}`)).body).toEqual({ count: 1 });

    // A selection runs only with its dry run's token, even for an action that can be undone.
    const unconfirmed = await api.post('/admin/operations', { action: 'disable', selection });
    expect(unconfirmed.status).toBe(409);
    expect(unconfirmed.body).toMatchObject({ code: 'confirmation_required', reason: 'missing' });
    const otherSelection = await api.post('/admin/operations', { action: 'disable', selection: { ...selection, status: 'active' }, confirm: preview.body.confirmToken });
    expect(otherSelection.body).toMatchObject({ code: 'confirmation_required', reason: 'mismatch' });
    const asIds = await api.post('/admin/operations', { action: 'disable', userIds: [idle], confirm: preview.body.confirmToken });
    expect(asIds.body).toMatchObject({ code: 'confirmation_required', reason: 'mismatch' });

    const run = await api.post('/admin/operations', { action: 'disable', selection, confirm: preview.body.confirmToken });
    expect(run.status).toBe(202);
    expect(run.body).toMatchObject({ action: 'disable', state: 'running', total: 1 });
    expect(run.headers.get('location')).toBe(`/admin/operations/${run.body.operationId}`);
    const done = await waitForOperation(run.body.operationId);
    expect(done.counts).toMatchObject({ total: 1, succeeded: 1 });
    expect(done.tasks.map((task: { userId: string }) => task.userId)).toEqual([idle]);
    expect((await t.getUser(idle)).status).toBe('disabled');
    expect((await t.getUser(recent)).status).toBe('active');

    const again = await api.post('/admin/operations', { action: 'disable', selection, confirm: preview.body.confirmToken });
    expect(again.status).toBe(409);
    expect(again.body).toMatchObject({ code: 'confirmation_used', operationId: run.body.operationId });
    // The kept users are gone with their run; the audit entry records the selection without its search text.
    expect(await t.sql(`select 1 from operation_targets where confirm_token_hash in (select confirm_token_hash from operations where id = ?)`, [run.body.operationId])).toEqual([]);
    const [audit] = await t.sql<{ details: Record<string, unknown> }>(`select details from audit_entries where action = 'operation.started' and details->>'operationId' = ?`, [
      run.body.operationId,
    ]);
    expect(audit!.details).toMatchObject({ total: 1, selection: { searched: true, inactiveSince: selection.inactiveSince } });
    expect(JSON.stringify(audit!.details)).not.toContain(word);
  });

  it('confirms an irreversible reset of a group, and replays it under the same Idempotency-Key', async () => {
    const word = tag();
    const members = await addUsers(word, 3);
    const others = await addUsers(word, 2);
    const [group] = await t.sql<{ id: string }>(`insert into groups (id, tenant_id, display_name) values (gen_random_uuid(), ?, ?) returning id`, [t.tenantId, word]);
    for (const id of members) await t.sql(`insert into group_memberships (tenant_id, group_id, user_id) values (?, ?, ?)`, [t.tenantId, group!.id, id]);
    const selection = { group: group!.id };
    expect((await api.get(`/admin/users?group=${group!.id}`)).body.users.map((u: { id: string }) => u.id).sort()).toEqual([...members].sort());

    const preview = await api.post('/admin/operations', { action: 'reset', selection, options: { voicemailMessages: true }, dryRun: true }, { 'idempotency-key': `${word}-preview` });
    expect(preview.body).toMatchObject({ irreversible: true, total: 3, allowed: 3 });
    const replayedPreview = await api.post('/admin/operations', { action: 'reset', selection, options: { voicemailMessages: true }, dryRun: true }, { 'idempotency-key': `${word}-preview` });
    expect(replayedPreview.body.confirmToken).toBe(preview.body.confirmToken);

    expect((await api.post('/admin/operations', { action: 'reset', selection, options: { voicemailMessages: true } })).body).toMatchObject({ code: 'confirmation_required' });
    const otherOptions = await api.post('/admin/operations', { action: 'reset', selection, options: { voicemailMessages: false }, confirm: preview.body.confirmToken });
    expect(otherOptions.body).toMatchObject({ code: 'confirmation_required', reason: 'mismatch' });

    const body = { action: 'reset', selection, options: { voicemailMessages: true }, confirm: preview.body.confirmToken };
    const run = await api.post('/admin/operations', body, { 'idempotency-key': `${word}-run` });
    expect(run.status).toBe(202);
    const replay = await api.post('/admin/operations', body, { 'idempotency-key': `${word}-run` });
    expect(replay.status).toBe(202);
    expect(replay.body.operationId).toBe(run.body.operationId);
    const done = await waitForOperation(run.body.operationId);
    expect(done.counts).toMatchObject({ total: 3, succeeded: 3 });
    for (const id of members) expect((await t.getUser(id)).status).toBe('setup_required');
    for (const id of others) expect((await t.getUser(id)).status).toBe('active');
  });

  it('refuses a selection that would take away the last admin, dry run included, and keeps nothing', async () => {
    const word = tag();
    await addUsers(word, 1, { role: 'admin' });
    const kept = async () => Number((await t.sql<{ n: string }>(`select count(*) as n from operation_targets`))[0]!.n);
    const before = await kept();
    const preview = await api.post('/admin/operations', { action: 'disable', selection: { q: word }, dryRun: true });
    expect(preview.status).toBe(409);
    expect(preview.body.code).toBe('last_admin');
    expect(await kept()).toBe(before);
  });

  it('answers an empty selection match with zero counts, and a hostile search as plain text', async () => {
    const preview = await api.post('/admin/operations', { action: 'ban', selection: { q: `%' or 1=1 -- ${tag()}` }, dryRun: true });
    expect(preview.status).toBe(200);
    expect(preview.body).toMatchObject({ total: 0, allowed: 0, refused: 0, users: [] });
    expect((await api.get(`/admin/users/count?q=${encodeURIComponent('%_\\')}`)).status).toBe(200);
  });

  it.each([
    ['both userIds and selection', { userIds: [randomUUID()], selection: {} }],
    ['neither userIds nor selection', {}],
    ['an unknown status', { selection: { status: 'nope' } }],
    ['a filter the list does not have', { selection: { role: 'admin' } }],
    ['a search longer than the list takes', { selection: { q: 'x'.repeat(201) } }],
    ['a time that is not one', { selection: { inactiveSince: 'ninety days ago' } }],
    ['a time before 1970', { selection: { inactiveSince: '0001-01-01T00:00:00Z' } }],
    ['a group that is not an id', { selection: { group: "1' or '1'='1" } }],
    ['a selection that is not an object', { selection: 'everyone' }],
    ['a selection that is a list', { selection: [randomUUID()] }],
    ['a search that is not text', { selection: { q: { $ne: null } } }],
  ])('refuses %s with problem+json', async (_name, fields) => {
    const res = await api.post('/admin/operations', { action: 'disable', dryRun: true, ...fields });
    expect(res.status).toBe(422);
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(res.body.code).toBe('validation_failed');
  });

  it('refuses values given per user with a selection (a recycle, a reset hand-over)', async () => {
    const recycle = await api.post('/admin/operations', { action: 'recycle', selection: {}, options: { users: { [randomUUID()]: { firstName: 'A', lastName: 'B' } } }, dryRun: true });
    expect(recycle.status).toBe(422);
    expect(JSON.stringify(recycle.body.issues)).toMatch(/select the users by userIds/);
    const handOver = await api.post('/admin/operations', { action: 'reset', selection: {}, handOver: { users: { [randomUUID()]: { firstName: 'A', lastName: 'B' } } }, dryRun: true });
    expect(handOver.status).toBe(422);
  });

  it('refuses hostile list filters the same way', async () => {
    for (const query of ['inactiveSince=yesterday', 'group=1%20or%201=1', 'status=nope']) {
      for (const path of ['/admin/users', '/admin/users/count']) {
        const res = await api.get(`${path}?${query}`);
        expect(res.status, `${path}?${query}`).toBe(422);
        expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      }
    }
  });
});
