import { randomBytes, randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { PROCESSORS } from '../../jobs/index.ts';
import { apiClient, createAdminToken } from '../support/api-client.ts';
import { useTestRuntime } from '../support/runtime.ts';

/**
 * Idempotency-Key on POST /admin/users and POST /admin/operations: a retry with the same key and
 * body answers the first answer again and does nothing new; another body is 422; a key whose
 * first request still runs is 409; only successes are kept, for 24 hours, per tenant, operator
 * and route.
 */
describe('admin Idempotency-Key', () => {
  const t = useTestRuntime({ label: 'admin_idempotency', processors: PROCESSORS });
  let api: ReturnType<typeof apiClient>;
  beforeAll(async () => {
    api = apiClient(t, await createAdminToken(t, 'admin'));
  });

  const newKey = () => randomUUID();
  const person = () => {
    const n = randomBytes(4).toString('hex');
    return { firstName: 'Ida', lastName: `Key ${n}`, email: `ida.${n}@example.org`, sendWelcome: false };
  };
  const usersWithEmail = async (email: string) => (await t.sql<{ n: number }>(`select count(*)::int as n from users where email = ?`, [email]))[0]!.n;
  const operationsOf = async (userId: string) =>
    (await t.sql<{ id: string }>(`select distinct operation_id as id from tasks where user_id = ? and operation_id is not null`, [userId])).map((r) => r.id);

  it('creates a user once: the same key and body answer the first 201 again, replayed, and create nothing', async () => {
    const key = newKey();
    const body = person();
    const first = await api.post('/admin/users', body, { 'idempotency-key': key });
    expect(first.status).toBe(201);
    expect(first.headers.get('idempotent-replayed')).toBeNull();

    // The same body with its members in another order is the same request.
    const reordered = Object.fromEntries(Object.entries(body).reverse());
    const again = await api.post('/admin/users', reordered, { 'idempotency-key': key });
    expect(again.status).toBe(201);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.body).toEqual(first.body);
    expect(await usersWithEmail(body.email)).toBe(1);

    // What is kept: hashes of the key and the body, and the answer (which holds no secret).
    const rows = await t.sql<Record<string, unknown>>(`select * from idempotency_keys where route = 'POST /users'`);
    const row = rows.find((r) => String(r.response_body).includes(first.body.id))!;
    expect(row).toMatchObject({ status: 201, tenant_id: t.tenantId, actor: expect.stringMatching(/^admin:/) });
    expect(JSON.stringify(rows)).not.toContain(key);
    expect(String(row.response_body)).not.toMatch(/set-password|token=|"password"/i);
  });

  it('refuses the same key with another body (422 idempotency_key_reused)', async () => {
    const key = newKey();
    const body = person();
    expect((await api.post('/admin/users', body, { 'idempotency-key': key })).status).toBe(201);
    const other = { ...body, lastName: 'Someone Else', email: `other.${randomBytes(4).toString('hex')}@example.org` };
    const reused = await api.post('/admin/users', other, { 'idempotency-key': key });
    expect(reused.status).toBe(422);
    expect(reused.headers.get('content-type')).toMatch(/problem\+json/);
    expect(reused.body.code).toBe('idempotency_key_reused');
    expect(await usersWithEmail(other.email)).toBe(0);
  });

  it.each([
    ['empty', ''],
    ['longer than 255 characters', 'k'.repeat(256)],
    ['not ASCII', 'clé-1'],
    ['with a control character', 'a\tb'],
  ])('refuses a key that is %s with 400 invalid_idempotency_key', async (_name, key) => {
    const body = person();
    const res = await api.post('/admin/users', body, { 'idempotency-key': key });
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toMatch(/problem\+json/);
    expect(res.body.code).toBe('invalid_idempotency_key');
    expect(await usersWithEmail(body.email)).toBe(0);
  });

  it('accepts a key of 255 printable characters, and the draft\'s quoted form', async () => {
    for (const key of ['~'.repeat(255), `"${newKey()}"`]) {
      const body = person();
      expect((await api.post('/admin/users', body, { 'idempotency-key': key })).status).toBe(201);
      expect((await api.post('/admin/users', body, { 'idempotency-key': key })).headers.get('idempotent-replayed')).toBe('true');
    }
  });

  it('scopes a key to its operator and route', async () => {
    const key = newKey();
    const body = person();
    expect((await api.post('/admin/users', body, { 'idempotency-key': key })).status).toBe(201);
    // Another token with the same key and body is not answered the first operator's answer: its request runs (and the user exists).
    const otherOperator = apiClient(t, await createAdminToken(t, 'admin'));
    expect((await otherOperator.post('/admin/users', body, { 'idempotency-key': key })).body.code).toBe('already_exists');
    // ... and with another body it is its own key, not a reuse.
    expect((await otherOperator.post('/admin/users', person(), { 'idempotency-key': key })).status).toBe(201);
    // The same key on the other route.
    const user = await t.createUser();
    expect((await api.post('/admin/operations', { action: 'disable', userIds: [user.id] }, { 'idempotency-key': key })).status).toBe(202);
    // The first operator's key still answers its own request.
    expect((await api.post('/admin/users', body, { 'idempotency-key': key })).headers.get('idempotent-replayed')).toBe('true');
  });

  it('runs an operation once: a replay answers the same operationId and Location and starts nothing', async () => {
    const user = await t.createUser();
    const key = newKey();
    const request = { action: 'disable', userIds: [user.id] };
    const first = await api.post('/admin/operations', request, { 'idempotency-key': key });
    expect(first.status).toBe(202);
    const again = await api.post('/admin/operations', request, { 'idempotency-key': key });
    expect(again.status).toBe(202);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.headers.get('location')).toBe(`/admin/operations/${first.body.operationId}`);
    expect(again.body).toEqual(first.body);
    expect(await operationsOf(user.id)).toEqual([first.body.operationId]);
  });

  it('replays a confirmed operation for its key, while the bare token is refused as used', async () => {
    const user = await t.createUser();
    const request = { action: 'reset', userIds: [user.id] };
    const dry = await api.post('/admin/operations', { ...request, dryRun: true });
    const key = newKey();
    const confirmed = { ...request, confirm: dry.body.confirmToken };
    const first = await api.post('/admin/operations', confirmed, { 'idempotency-key': key });
    expect(first.status).toBe(202);
    const retried = await api.post('/admin/operations', confirmed, { 'idempotency-key': key });
    expect([retried.status, retried.body.operationId]).toEqual([202, first.body.operationId]);
    const bare = await api.post('/admin/operations', confirmed);
    expect(bare.body).toMatchObject({ code: 'confirmation_used', operationId: first.body.operationId });
    expect(await operationsOf(user.id)).toEqual([first.body.operationId]);
  });

  it('answers identical keyed requests sent at once with one user, and the others wait or replay', async () => {
    const key = newKey();
    const body = person();
    const answers = await Promise.all(Array.from({ length: 4 }, () => api.post('/admin/users', body, { 'idempotency-key': key })));
    const created = answers.filter((a) => a.status === 201);
    expect(created.length).toBeGreaterThanOrEqual(1);
    expect(new Set(created.map((a) => a.body.id)).size).toBe(1);
    for (const a of answers.filter((x) => x.status !== 201)) {
      expect(a.status).toBe(409);
      expect(a.body.code).toBe('idempotency_key_in_use');
    }
    expect(await usersWithEmail(body.email)).toBe(1);
  });

  it('answers 409 idempotency_key_in_use while the first request runs, and takes over a claim abandoned for 5 minutes', async () => {
    const user = await t.createUser();
    const key = newKey();
    const request = { action: 'activate', userIds: [user.id] };
    const first = await api.post('/admin/operations', request, { 'idempotency-key': key });
    // As if that request had not answered yet.
    const [row] = await t.sql<{ id: string }>(`select id from idempotency_keys where response_body like ?`, [`%${first.body.operationId}%`]);
    await t.sql(`update idempotency_keys set status = null, response_body = null, response_location = null, completed_at = null where id = ?`, [row!.id]);
    const busy = await api.post('/admin/operations', request, { 'idempotency-key': key });
    expect(busy.status).toBe(409);
    expect(busy.body.code).toBe('idempotency_key_in_use');
    expect(busy.headers.get('retry-after')).toBe('1');

    // Its process died: after 5 minutes the key is claimed again and the request runs.
    await t.sql(`update idempotency_keys set created_at = now() - interval '6 minutes' where id = ?`, [row!.id]);
    const rerun = await api.post('/admin/operations', request, { 'idempotency-key': key });
    expect(rerun.status).toBe(202);
    expect(rerun.body.operationId).not.toBe(first.body.operationId);
  });

  it('keeps no 4xx answer: the key is free for a corrected request', async () => {
    const user = await t.createUser();
    const key = newKey();
    const unknown = await api.post('/admin/operations', { action: 'ban', userIds: [randomUUID()] }, { 'idempotency-key': key });
    expect(unknown.status).toBe(422);
    expect(unknown.body.code).toBe('unknown_users');
    const invalid = await api.post('/admin/operations', { action: 'ban', userIds: [] }, { 'idempotency-key': key });
    expect(invalid.body.code).toBe('validation_failed');
    const unconfirmed = await api.post('/admin/operations', { action: 'reset', userIds: [user.id] }, { 'idempotency-key': key });
    expect(unconfirmed.body.code).toBe('confirmation_required');
    const fixed = await api.post('/admin/operations', { action: 'ban', userIds: [user.id] }, { 'idempotency-key': key });
    expect(fixed.status).toBe(202);
    expect(fixed.headers.get('idempotent-replayed')).toBeNull();
    // The success is what the key keeps.
    const again = await api.post('/admin/operations', { action: 'ban', userIds: [user.id] }, { 'idempotency-key': key });
    expect([again.headers.get('idempotent-replayed'), again.body.operationId]).toEqual(['true', fixed.body.operationId]);
  });

  it('keeps no 5xx answer: a retry after a server error runs the request', async () => {
    const user = await t.createUser();
    const key = newKey();
    const request = { action: 'welcome_email', userIds: [user.id] };
    await t.sql(`create function idempotency_test_fail() returns trigger language plpgsql as $$ begin raise exception 'refused by the test'; end $$`);
    await t.sql(`create trigger idempotency_test_fail before insert on operations for each row execute function idempotency_test_fail()`);
    try {
      expect((await api.post('/admin/operations', request, { 'idempotency-key': key })).status).toBe(500);
    } finally {
      await t.sql(`drop trigger idempotency_test_fail on operations`);
      await t.sql(`drop function idempotency_test_fail()`);
    }
    const retried = await api.post('/admin/operations', request, { 'idempotency-key': key });
    expect(retried.status).toBe(202);
    expect(retried.headers.get('idempotent-replayed')).toBeNull();
    expect((await api.post('/admin/operations', request, { 'idempotency-key': key })).body.operationId).toBe(retried.body.operationId);
    expect(await operationsOf(user.id)).toEqual([retried.body.operationId]);
  });

  it('forgets a key after 24 hours, and sweeps expired keys', async () => {
    const user = await t.createUser();
    const key = newKey();
    const request = { action: 'unlock', userIds: [user.id] };
    const first = await api.post('/admin/operations', request, { 'idempotency-key': key });
    await t.sql(`update idempotency_keys set created_at = now() - interval '25 hours' where response_body like ?`, [`%${first.body.operationId}%`]);
    const later = await api.post('/admin/operations', request, { 'idempotency-key': key });
    expect(later.status).toBe(202);
    expect(later.body.operationId).not.toBe(first.body.operationId);
    expect(later.headers.get('idempotent-replayed')).toBeNull();

    await t.sql(
      `insert into idempotency_keys (id, tenant_id, actor, route, key_hash, request_hash, status, response_body, created_at)
       values (gen_random_uuid(), ?, 'admin:old', 'POST /users', 'old', 'old', 201, '{}', now() - interval '30 hours')`,
      [t.tenantId],
    );
    expect((await api.post('/admin/users', person(), { 'idempotency-key': newKey() })).status).toBe(201);
    expect(await t.sql(`select id from idempotency_keys where created_at < now() - interval '24 hours'`)).toEqual([]);
  });

  it('documents the header and the replay marker in /admin/openapi.json', async () => {
    const document = (await apiClient(t).get('/admin/openapi.json')).body;
    for (const [path, success] of [['/users', '201'], ['/operations', '202']] as const) {
      const operation = document.paths[path].post;
      expect(operation.parameters).toEqual(expect.arrayContaining([expect.objectContaining({ in: 'header', name: 'Idempotency-Key', required: false })]));
      expect(Object.keys(operation.responses[success].headers ?? {})).toContain('Idempotent-Replayed');
      expect(operation.responses['422'].description).toContain('idempotency_key_reused');
      expect(operation.responses['409'].description).toContain('idempotency_key_in_use');
      expect(operation.responses['400'].description).toContain('invalid_idempotency_key');
    }
  });
});
