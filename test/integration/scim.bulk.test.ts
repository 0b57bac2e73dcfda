import fs from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { CORE_GROUP, CORE_USER, ENTERPRISE, PATCH_OP, TURNOVER, uniqueName, useScim } from './scim.helpers.ts';

/**
 * POST /Bulk (RFC 7644 §3.7): bulkId references across operations, failOnErrors, both limits,
 * hostile bodies, the mass-deprovision guard counting every deactivation of a bulk, and the
 * README's HR batch push, run exactly as the README shows it.
 */
const BULK = 'urn:ietf:params:scim:api:messages:2.0:BulkRequest';
const ERROR = 'urn:ietf:params:scim:api:messages:2.0:Error';

describe('SCIM /Bulk', () => {
  const s = useScim('scim_bulk');
  const bulk = (Operations: unknown, extra: Record<string, unknown> = {}) => s.call('POST', '/Bulk', { schemas: [BULK], Operations, ...extra });
  const newUser = (bulkId: string, extra: Record<string, unknown> = {}) => ({
    method: 'POST',
    path: '/Users',
    bulkId,
    data: { schemas: [CORE_USER], userName: uniqueName(bulkId), name: { givenName: 'Bulk', familyName: bulkId }, ...extra },
  });
  const setPolicy = (policy: Record<string, unknown>) => s.t.sql(`update tenants set policy = ?::jsonb where id = ?`, [JSON.stringify(policy), s.t.tenantId]);

  it('is advertised with its limits', async () => {
    const config = await s.call('GET', '/ServiceProviderConfig');
    expect(config.body.bulk).toEqual({ supported: true, maxOperations: 1000, maxPayloadSize: 1048576 });
  });

  it('resolves bulkId references in member values and in paths, across operations and ahead of order', async () => {
    await setPolicy({ deprovisionGuard: { enabled: false } });
    const reply = await bulk([
      // The group names u2, whose POST comes later: that POST runs first.
      { method: 'POST', path: '/Groups', bulkId: 'g1', data: { schemas: [CORE_GROUP], displayName: `Bulk ${uniqueName('g')}`, members: [{ value: 'bulkId:u1' }, { value: 'bulkId:u2' }] } },
      newUser('u1'),
      { method: 'PATCH', path: '/Users/bulkId:u1', data: { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'title', value: 'Engineer' }] } },
      newUser('u2', { [ENTERPRISE]: { manager: { value: 'bulkId:u1' } } }),
    ]);
    expect(reply.status).toBe(200);
    expect(reply.contentType).toMatch(/^application\/scim\+json/);
    expect(reply.body.schemas).toEqual(['urn:ietf:params:scim:api:messages:2.0:BulkResponse']);
    const [group, u1, patch, u2] = reply.body.Operations;
    expect([group, u1, patch, u2].map((r: any) => [r.method, r.bulkId, r.status])).toEqual([
      ['POST', 'g1', '201'],
      ['POST', 'u1', '201'],
      ['PATCH', undefined, '200'],
      ['POST', 'u2', '201'],
    ]);
    const id = (r: any) => String(r.location).split('/').pop()!;
    expect(u1.location).toMatch(/\/scim\/v2\/Users\/[0-9a-f-]{36}$/);
    expect(patch.location).toBe(u1.location);
    expect(patch.version).toMatch(/^W\/"/);
    const members = (await s.call('GET', `/Groups/${id(group)}`)).body.members.map((m: any) => m.value).sort();
    expect(members).toEqual([id(u1), id(u2)].sort());
    expect((await s.call('GET', `/Users/${id(u1)}`)).body.title).toBe('Engineer');
    expect((await s.call('GET', `/Users/${id(u2)}`)).body[ENTERPRISE].manager.value).toBe(id(u1));
    // Each operation has the effects of its single request: u1's create, its update, the group's members.
    const actions = await s.t.sql<{ action: string }>(`select action from audit_entries where user_id = ? order by id`, [id(u1)]);
    expect(actions.map((a) => a.action)).toEqual(['user.create', 'user.scim_update']);
    expect(await s.t.sql(`select type from tasks where user_id = ? and type = 'welcome_email'`, [id(u1)])).toHaveLength(1);
  });

  it('stops after failOnErrors failures; an operation on a failed POST fails; every other op has a location', async () => {
    const taken = await s.createUser();
    const reply = await bulk(
      [
        newUser('ok1'),
        { ...newUser('dup'), data: { schemas: [CORE_USER], userName: taken.userName } },
        { method: 'PATCH', path: '/Users/bulkId:dup', data: { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'title', value: 'x' }] } },
        newUser('never'),
      ],
      { failOnErrors: 1 },
    );
    expect(reply.status).toBe(200);
    expect(reply.body.Operations).toHaveLength(2);
    const [ok, dup] = reply.body.Operations;
    expect(ok).toMatchObject({ method: 'POST', bulkId: 'ok1', status: '201' });
    expect(dup).toEqual({ method: 'POST', bulkId: 'dup', status: '409', response: { schemas: [ERROR], status: '409', scimType: 'uniqueness', detail: expect.any(String) } });
    expect(await s.t.sql(`select 1 from users where last_name = 'never'`)).toHaveLength(0);

    // Without failOnErrors every operation runs: the PATCH of the failed POST fails too.
    const all = await bulk([
      { ...newUser('dup2'), data: { schemas: [CORE_USER], userName: taken.userName } },
      { method: 'PATCH', path: '/Users/bulkId:dup2', data: { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'title', value: 'x' }] } },
      { method: 'DELETE', path: '/Users/00000000-0000-4000-8000-000000000000' },
      newUser('after'),
    ]);
    expect(all.body.Operations.map((r: any) => r.status)).toEqual(['409', '400', '404', '201']);
    expect(all.body.Operations[1].response).toMatchObject({ scimType: 'invalidValue', detail: expect.stringContaining('bulkId:dup2') });
    expect(all.body.Operations[2].location).toMatch(/\/Users\/00000000-0000-4000-8000-000000000000$/);
    expect(all.body.Operations[0].location).toBeUndefined();
  });

  it('answers 413 past maxOperations and past maxPayloadSize, naming the limit, and runs nothing', async () => {
    const many = Array.from({ length: 1001 }, (_v, i) => ({ method: 'DELETE', path: `/Users/missing-${i}` }));
    const tooMany = await bulk(many);
    expect(tooMany.status).toBe(413);
    expect(tooMany.body).toMatchObject({ schemas: [ERROR], status: '413', detail: expect.stringContaining('maxOperations (1000)') });

    const before = await s.t.sql(`select 1 from users`);
    const padding = 'x'.repeat(10_000);
    const big = Array.from({ length: 110 }, (_v, i) => newUser(`big${i}`, { nickName: padding }));
    const tooBig = await bulk(big);
    expect(tooBig.status).toBe(413);
    expect(tooBig.body).toMatchObject({ schemas: [ERROR], status: '413', detail: expect.stringContaining('maxPayloadSize (1048576 bytes)') });
    expect(await s.t.sql(`select 1 from users`)).toHaveLength(before.length);

    // The other routes keep their own, smaller limit.
    const single = await s.call('POST', '/Users', { schemas: [CORE_USER], userName: uniqueName(), nickName: 'x'.repeat(16_000), displayName: 'y'.repeat(16_000), title: 'z'.repeat(16_000), addresses: Array.from({ length: 40 }, () => ({ formatted: 'a'.repeat(15_000) })) });
    expect(single.status).toBe(413);
  });

  it('refuses hostile bodies with 400 in SCIM format, before anything runs', async () => {
    const before = (await s.t.sql(`select 1 from users`)).length;
    const cases: Array<[unknown, string]> = [
      [{ schemas: [BULK], Operations: { method: 'POST' } }, 'invalidSyntax'],
      [{ schemas: [BULK], Operations: 'all of them' }, 'invalidSyntax'],
      [{ Operations: [newUser('noschema')] }, 'invalidSyntax'],
      [{ schemas: [BULK], Operations: [] }, 'invalidValue'],
      [{ schemas: [BULK], Operations: [null] }, 'invalidSyntax'],
      [{ schemas: [BULK], Operations: [newUser('n1'), { ...newUser('nul'), data: { schemas: [CORE_USER], userName: 'a\u0000b' } }] }, 'invalidValue'],
      [{ schemas: [BULK], Operations: [newUser('m1'), { method: 'GET', path: '/Users' }] }, 'invalidValue'],
      [{ schemas: [BULK], Operations: [newUser('m2'), { method: { $ne: 1 }, path: '/Users' }] }, 'invalidValue'],
      [{ schemas: [BULK], Operations: [newUser('p1'), { method: 'DELETE', path: '/Users/../admin/users' }] }, 'invalidValue'],
      [{ schemas: [BULK], Operations: [newUser('p2'), { method: 'DELETE', path: '/Tokens/1' }] }, 'invalidValue'],
      [{ schemas: [BULK], Operations: [{ ...newUser('p3'), path: '/Users/some-id' }] }, 'invalidValue'],
      [{ schemas: [BULK], Operations: [newUser('p4'), { method: 'PATCH', path: 42, data: {} }] }, 'invalidSyntax'],
      [{ schemas: [BULK], Operations: [{ ...newUser('x'), bulkId: undefined }] }, 'invalidSyntax'],
      [{ schemas: [BULK], Operations: [newUser('same'), newUser('same')] }, 'invalidValue'],
      [{ schemas: [BULK], Operations: [newUser('r1', { [ENTERPRISE]: { manager: { value: 'bulkId:nobody' } } })] }, 'invalidValue'],
      [{ schemas: [BULK], Operations: [newUser('f1')], failOnErrors: -1 }, 'invalidValue'],
      [{ schemas: [BULK], Operations: [newUser('f2')], failOnErrors: '1' }, 'invalidValue'],
      [{ schemas: [BULK], Operations: [{ method: 'PUT', path: '/Users/x' }] }, 'invalidSyntax'],
    ];
    for (const [body, scimType] of cases) {
      const reply = await s.call('POST', '/Bulk', body);
      expect(reply.status, JSON.stringify(body).slice(0, 200)).toBe(400);
      expect(reply.contentType).toMatch(/^application\/scim\+json/);
      expect(reply.body).toMatchObject({ schemas: [ERROR], status: '400', scimType, detail: expect.any(String) });
    }
    const malformed = await s.call('POST', '/Bulk', '{"schemas": [');
    expect(malformed.status).toBe(400);
    expect(malformed.body).toMatchObject({ schemas: [ERROR], scimType: 'invalidSyntax' });
    expect((await s.t.sql(`select 1 from users`)).length).toBe(before);
  });

  it('answers circular references with 409 and runs nothing', async () => {
    const before = (await s.t.sql(`select 1 from users`)).length;
    const reply = await bulk([newUser('c1', { [ENTERPRISE]: { manager: { value: 'bulkId:c2' } } }), newUser('c2', { [ENTERPRISE]: { manager: { value: 'bulkId:c1' } } })]);
    expect(reply.status).toBe(409);
    expect(reply.body).toMatchObject({ schemas: [ERROR], status: '409', detail: expect.stringContaining('bulkId:c1 -> bulkId:c2 -> bulkId:c1') });
    expect((await s.t.sql(`select 1 from users`)).length).toBe(before);
  });

  it('runs PUT and DELETE too, each answered as its single request', async () => {
    const reply = await bulk([
      newUser('d1'),
      { method: 'POST', path: '/Groups', bulkId: 'g2', data: { schemas: [CORE_GROUP], displayName: `Bulk ${uniqueName('g2')}` } },
      { method: 'PUT', path: '/Groups/bulkId:g2', data: { schemas: [CORE_GROUP], displayName: 'Renamed by bulk', members: [{ value: 'bulkId:d1' }] } },
      { method: 'DELETE', path: '/Users/bulkId:d1' },
    ]);
    const [user, , put, del] = reply.body.Operations;
    expect(reply.body.Operations.map((r: any) => r.status)).toEqual(['201', '201', '200', '204']);
    expect(put.location).toMatch(/\/Groups\/[0-9a-f-]{36}$/);
    expect(del).toEqual({ method: 'DELETE', location: user.location, status: '204' });
    expect((await s.call('GET', new URL(put.location).pathname.replace('/scim/v2', ''))).body.displayName).toBe('Renamed by bulk');
    expect((await s.call('GET', new URL(user.location).pathname.replace('/scim/v2', ''))).status).toBe(404);
    // Only POST is the bulk endpoint.
    const get = await s.call('GET', '/Bulk');
    expect(get.status).toBeGreaterThanOrEqual(400);
    expect(get.body.schemas).toEqual([ERROR]);
  });

  it('needs a live token', async () => {
    const reply = await s.call('POST', '/Bulk', { schemas: [BULK], Operations: [newUser('anon')] }, { authorization: 'Bearer nope' });
    expect(reply.status).toBe(401);
  });

  it('the mass-deprovision guard counts every deactivation and deletion of one bulk', async () => {
    const users = [];
    for (let i = 0; i < 20; i++) users.push(await s.createUser());
    // Three more than the IdP's deprovisionings so far in the window (other tests here delete users).
    const [counted] = await s.t.sql<{ recent: number }>(
      `select count(*)::int as recent from audit_entries where action in ('user.scim_deactivate', 'user.scim_delete') and (details->>'changed')::boolean is true`,
    );
    await setPolicy({ deprovisionGuard: { enabled: true, maxCount: counted!.recent + 3, maxPercent: 100, windowMinutes: 60 } });
    const deactivate = (id: string) => ({ method: 'PATCH', path: `/Users/${id}`, data: { schemas: [PATCH_OP], Operations: [{ op: 'replace', value: { active: false } }] } });
    const reply = await bulk([...users.slice(0, 4).map((u) => deactivate(u.id)), { method: 'DELETE', path: `/Users/${users[4].id}` }, deactivate(users[5].id)]);
    expect(reply.body.Operations.map((r: any) => r.status)).toEqual(['200', '200', '200', '200', '204', '200']);
    const statuses = await Promise.all(users.slice(0, 6).map(async (u) => (await s.t.getUser(u.id)).status));
    expect(statuses).toEqual(['disabled', 'disabled', 'disabled', 'password_required', 'password_required', 'password_required']);
    const held = await s.t.sql<{ user_id: string }>(`select user_id from tasks where state = 'held' and reason = 'deprovision_guard' order by created_at`);
    expect(held.map((h) => h.user_id)).toEqual(users.slice(3, 6).map((u) => u.id));
    await setPolicy({ deprovisionGuard: { enabled: false } });
  });

  it("runs the README's HR batch push exactly as shown", async () => {
    const readme = await fs.readFile(new URL('../../README.md', import.meta.url), 'utf8');
    const section = readme.slice(readme.indexOf('#### HR batch push'));
    const example = /```json\n([\s\S]*?)\n```/.exec(section)![1]!;
    const reply = await s.call('POST', '/Bulk', example);
    expect(reply.status).toBe(200);
    expect(reply.body.Operations.map((r: any) => [r.method, r.bulkId, r.status])).toEqual([
      ['POST', 'alice', '201'],
      ['POST', 'bob', '201'],
      ['PATCH', undefined, '200'],
      ['PATCH', undefined, '200'],
    ]);
    const [alice] = await s.t.sql<{ id: string; title: string; department: string }>(`select id, title, department from users where user_name = 'alice.martin@example.com'`);
    const [bob] = await s.t.sql<{ id: string; manager_id: string; termination_date: Date }>(`select id, manager_id, termination_date from users where user_name = 'bob.chen@example.com'`);
    // Hired: both wait for a password, with a welcome mail queued.
    for (const user of [alice!, bob!]) {
      expect((await s.t.getUser(user.id)).status).toBe('password_required');
      expect(await s.t.sql(`select state from tasks where user_id = ? and type = 'welcome_email'`, [user.id])).toEqual([{ state: 'pending' }]);
    }
    // Changed.
    expect(alice).toMatchObject({ title: 'Sales Lead', department: 'Sales EMEA' });
    expect(bob!.manager_id).toBe(alice!.id);
    // Terminated on a future date: a deprovision scheduled for then.
    expect(new Date(bob!.termination_date).toISOString()).toBe('2035-06-30T17:00:00.000Z');
    const [deprovision] = await s.t.sql<{ state: string; run_at: Date; payload: unknown }>(`select state, run_at, payload from tasks where user_id = ? and type = 'deprovision'`, [bob!.id]);
    expect(deprovision).toMatchObject({ state: 'pending', payload: { source: 'schedule' } });
    expect(new Date(deprovision!.run_at).toISOString()).toBe('2035-06-30T17:00:00.000Z');
    // Audited, by the SCIM connection.
    const audit = await s.t.sql<{ user_id: string; action: string; actor: string; details: any }>(
      `select user_id, action, actor, details from audit_entries where user_id in (?, ?) order by id`,
      [alice!.id, bob!.id],
    );
    expect(audit.map((a) => [a.user_id, a.action])).toEqual([
      [alice!.id, 'user.create'],
      [bob!.id, 'user.create'],
      [alice!.id, 'user.scim_update'],
      [bob!.id, 'user.scim_update'],
    ]);
    expect(new Set(audit.map((a) => a.actor))).toEqual(new Set([`scim:${s.tokenId}`]));
    expect(audit[2]!.details.changed).toEqual(expect.arrayContaining(['title', 'department']));
    expect(audit[3]!.details.changed).toEqual(['terminationDate']);
  });
});
