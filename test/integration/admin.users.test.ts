import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { revokeApiTokens } from '../../src/store/tokens.ts';
import { apiClient, createAdminToken, createTenant } from '../support/api-client.ts';
import { useTestRuntime } from '../support/runtime.ts';

/** The admin API's users, auth and tenant isolation, over HTTP against real PostgreSQL. */
describe('admin API: auth, users, tenant isolation', () => {
  const t = useTestRuntime({
    label: 'admin_users',
    roles: { api: true, relay: false, workers: false },
    env: { DATA_DIR: mkdtempSync(path.join(os.tmpdir(), 'turnover-admin-users-')) },
  });
  let admin: ReturnType<typeof apiClient>;
  let manager: ReturnType<typeof apiClient>;
  let otherTenantAdmin: ReturnType<typeof apiClient>;
  let otherTenantId: string;

  beforeAll(async () => {
    admin = apiClient(t, await createAdminToken(t, 'admin'));
    manager = apiClient(t, await createAdminToken(t, 'office_manager'));
    otherTenantId = await createTenant(t, 'other');
    otherTenantAdmin = apiClient(t, await createAdminToken(t, 'admin', otherTenantId));
  });

  describe('authentication and roles', () => {
    it('answers 401 problem+json without a token, with a bad one, a token of another kind, or a revoked one', async () => {
      const none = await apiClient(t).get('/admin/users');
      expect(none.status).toBe(401);
      expect(none.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(none.body).toMatchObject({ status: 401, code: 'unauthorized' });
      expect(none.headers.get('www-authenticate')).toMatch(/^Bearer/);

      expect((await apiClient(t, 'tov_admin_nope').get('/admin/users')).status).toBe(401);
      const em = t.runtime.orm.em.fork();
      const { insertApiToken } = await import('../../src/store/tokens.ts');
      const scim = insertApiToken(em, { tenantId: t.tenantId, kind: 'scim', actor: 'test' }).token;
      await em.flush();
      expect((await apiClient(t, scim).get('/admin/users')).status).toBe(401);

      const token = await createAdminToken(t, 'admin');
      expect((await apiClient(t, token).get('/admin/users')).status).toBe(200);
      const revokeEm = t.runtime.orm.em.fork();
      await revokeApiTokens(revokeEm, { tenantId: t.tenantId, idOrPrefixOrToken: token, actor: 'test' });
      await revokeEm.flush();
      expect((await apiClient(t, token).get('/admin/users')).status).toBe(401);
    });

    it('lets an office manager work with users but not settings, tokens or the queue dashboard (403)', async () => {
      expect((await manager.get('/admin/users')).status).toBe(200);
      for (const [method, url] of [
        ['PUT', '/admin/settings'],
        ['POST', '/admin/tokens'],
        ['GET', '/admin/tokens'],
        ['GET', '/admin/queues'],
      ] as const) {
        const res = await manager.call(method, url, method === 'GET' ? undefined : {});
        expect(res.status, `${method} ${url}`).toBe(403);
        expect(res.body).toMatchObject({ code: 'forbidden' });
      }
    });
  });

  describe('users', () => {
    it('creates a user in password_required, queues the welcome email, audits with the token as actor', async () => {
      const res = await manager.post('/admin/users', {
        firstName: 'Kaylee',
        lastName: 'Frye',
        email: 'kaylee@example.org',
        extension: '1002',
        department: 'Engineering',
        role: 'basic_user',
      });
      expect(res.status).toBe(201);
      expect(res.body).toMatchObject({
        userName: 'kaylee@example.org',
        firstName: 'Kaylee',
        lastName: 'Frye',
        email: 'kaylee@example.org',
        extension: '1002',
        role: 'basic_user',
        status: 'password_required',
      });
      const tasks = await t.sql(`select type, payload, actor from tasks where user_id = ?`, [res.body.id]);
      expect(tasks).toEqual([{ type: 'welcome_email', payload: { purpose: 'welcome' }, actor: expect.stringMatching(/^admin:[0-9a-f-]{36}$/) }]);
      const audit = await t.sql(`select action, actor from audit_entries where user_id = ?`, [res.body.id]);
      expect(audit).toEqual([{ action: 'user.create', actor: tasks[0]!.actor }]);

      const quiet = await manager.post('/admin/users', { firstName: 'Quiet', lastName: 'One', email: 'quiet@example.org', sendWelcome: false });
      expect(quiet.status).toBe(201);
      expect(await t.sql(`select 1 from tasks where user_id = ?`, [quiet.body.id])).toEqual([]);
    });

    it('refuses bad input with 422 listing the fields, a taken user name with 409, and never a 500', async () => {
      const bad = await manager.post('/admin/users', { firstName: '', lastName: 'X', email: 'not-an-email', role: 'emperor', colour: 'red' });
      expect(bad.status).toBe(422);
      expect(bad.body.code).toBe('validation_failed');
      const paths = bad.body.issues.map((i: { path: string }) => i.path);
      expect(paths).toEqual(expect.arrayContaining(['body.firstName', 'body.email', 'body.role']));

      await manager.post('/admin/users', { firstName: 'A', lastName: 'B', email: 'dup@example.org' });
      const dup = await manager.post('/admin/users', { firstName: 'C', lastName: 'D', email: 'DUP@example.org' });
      expect(dup.status).toBe(409);
      expect(dup.body).toMatchObject({ code: 'already_exists', constraint: 'users_tenant_username_key' });

      const badJson = await manager.call('POST', '/admin/users', '{"firstName": ', { 'content-type': 'application/json' });
      expect(badJson.status).toBe(400);
      expect((await manager.get('/admin/users/not-a-uuid')).status).toBe(404);
      expect((await manager.get('/admin/users?limit=100000')).status).toBe(422);
      expect((await manager.get('/admin/users?cursor=garbage')).status).toBe(422);
      expect((await manager.get('/admin/users?status=purged')).status).toBe(422);
    });

    it('lists with a status filter, text search over name, email, userName and extension, and cursor paging', async () => {
      const made: string[] = [];
      for (let i = 0; i < 7; i++) {
        const u = await t.createUser({ firstName: 'Page', lastName: `Person${i}`, extension: `70${i}`, status: i % 2 ? 'active' : 'disabled' });
        made.push(u.id);
      }
      const hidden = await t.createUser({ firstName: 'Page', lastName: 'Deleted', status: 'deleted' });

      const seen: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const res: { status: number; body: { users: Array<{ id: string }>; nextCursor: string | null } } = await manager.get(
          `/admin/users?q=page&limit=3${cursor ? `&cursor=${cursor}` : ''}`,
        );
        expect(res.status).toBe(200);
        seen.push(...res.body.users.map((u) => u.id));
        cursor = res.body.nextCursor;
        pages++;
      } while (cursor);
      expect(pages).toBe(3);
      expect(seen).toEqual(made); // creation order, deleted left out, each once

      const disabled = await manager.get('/admin/users?status=disabled&q=page');
      expect(disabled.body.users.map((u: { id: string }) => u.id)).toEqual(made.filter((_, i) => i % 2 === 0));
      const deleted = await manager.get('/admin/users?status=deleted&q=page');
      expect(deleted.body.users.map((u: { id: string }) => u.id)).toEqual([hidden.id]);

      const byExtension = await manager.get('/admin/users?q=703');
      expect(byExtension.body.users.map((u: { id: string }) => u.id)).toEqual([made[3]]);
      const byFullName = await manager.get('/admin/users?q=page%20person5');
      expect(byFullName.body.users.map((u: { id: string }) => u.id)).toEqual([made[5]]);
      const wildcard = await manager.get('/admin/users?q=%25');
      expect(wildcard.status).toBe(200);
      expect(wildcard.body.users).toEqual([]); // % is a character here, not a pattern
    });

    it('reads and edits details and role, audited; status is not editable', async () => {
      const user = await t.createUser({ firstName: 'Malcolm', lastName: 'Reynolds', email: 'mal@example.org', extension: '1009' });
      const read = await manager.get(`/admin/users/${user.id}`);
      expect(read.status).toBe(200);
      expect(read.body).toMatchObject({ id: user.id, firstName: 'Malcolm', status: 'active', extension: '1009' });

      const edited = await manager.patch(`/admin/users/${user.id}`, { email: 'new.person@example.org', phone: '+15550100', role: 'call_center_agent' });
      expect(edited.status).toBe(200);
      expect(edited.body).toMatchObject({ email: 'new.person@example.org', phone: '+15550100', role: 'call_center_agent', extension: '1009' });
      const audit = await t.sql(`select action, details from audit_entries where user_id = ? order by id`, [user.id]);
      expect(audit).toEqual([
        { action: 'user.role_changed', details: { fields: ['email', 'phone', 'role'], fromRole: 'basic_user', toRole: 'call_center_agent' } },
      ]);
      expect((await manager.patch(`/admin/users/${user.id}`, { status: 'active' })).status).toBe(422);
      expect((await manager.patch(`/admin/users/${user.id}`, {})).status).toBe(422);
    });

    it("says which actions each user is offered, from the user's status (list, read, edit)", async () => {
      const active = await t.createUser({ firstName: 'Offered', lastName: 'Active', status: 'active' });
      const banned = await t.createUser({ firstName: 'Offered', lastName: 'Banned', status: 'banned' });
      const seat = await t.createUser({ firstName: 'Offered', lastName: 'Seat', status: 'setup_required' });
      const list = await manager.get('/admin/users?q=offered');
      expect(Object.fromEntries(list.body.users.map((u: { id: string; allowedActions: string[] }) => [u.id, u.allowedActions]))).toEqual({
        [active.id]: ['ban', 'disable', 'delete', 'permanent_delete', 'reset', 'force_password_reset', 'deprovision'],
        [banned.id]: ['unban', 'delete', 'permanent_delete', 'reset', 'deprovision'],
        [seat.id]: ['delete', 'permanent_delete', 'recycle'],
      });
      expect((await manager.get(`/admin/users/${banned.id}`)).body.allowedActions).toEqual(['unban', 'delete', 'permanent_delete', 'reset', 'deprovision']);
      expect((await manager.patch(`/admin/users/${seat.id}`, { department: 'Ops' })).body.allowedActions).toEqual(['delete', 'permanent_delete', 'recycle']);
    });
  });

  describe('CSV import', () => {
    const csv = (body: string) => manager.call('POST', '/admin/users/import', body, { 'content-type': 'text/csv' });

    it('creates the good rows, reports and skips the bad ones by line number, and writes nothing half', async () => {
      await t.createUser({ userName: 'taken@example.org' });
      const res = await csv(
        [
          'firstName,lastName,email,role,extension,department,sendWelcome',
          'Shepherd,Book,book@example.org,basic_user,1007,,',
          'River,Tam,not-an-email,call_center_agent,1004,,',
          '"Simon, MD",Tam,simon@example.org,basic_user,1005,Medical,false',
          'Jayne,Cobb,taken@example.org,office_manager,1003,,',
          'Zoe,Washburne,zoe.w@example.org,captain,1006,,',
          'Hoban,Washburne',
          '',
          'Inara,Serra,inara@example.org,call_center_supervisor,1000,,yes',
        ].join('\n') + '\n',
      );
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ created: 3, failed: 4, stopped: null });
      expect(res.body.rows.map((r: { line: number; ok: boolean }) => [r.line, r.ok])).toEqual([
        [2, true],
        [3, false],
        [4, true],
        [5, false],
        [6, false],
        [7, false],
        [9, true],
      ]);
      const byLine = Object.fromEntries(res.body.rows.map((r: { line: number }) => [r.line, r]));
      expect(byLine[3].error).toMatchObject({ code: 'validation_failed', issues: [expect.objectContaining({ column: 'email' })] });
      expect(byLine[5].error).toMatchObject({ code: 'already_exists' });
      expect(byLine[6].error.issues[0].column).toBe('role');
      expect(byLine[7].error.code).toBe('wrong_column_count');

      const simon = await manager.get(`/admin/users/${byLine[4].userId}`);
      expect(simon.body).toMatchObject({ firstName: 'Simon, MD', department: 'Medical', extension: '1005', status: 'password_required' });
      // sendWelcome false: no welcome task; the others have one each. Bad rows left nothing behind.
      const welcome = await t.sql<{ user_id: string }>(`select user_id from tasks where type = 'welcome_email' and user_id = any(?::uuid[])`, [
        `{${[byLine[2].userId, byLine[4].userId, byLine[9].userId].join(',')}}`,
      ]);
      expect(welcome.map((w) => w.user_id).sort()).toEqual([byLine[2].userId, byLine[9].userId].sort());
      expect(await t.sql(`select 1 from users where lower(email) in ('not-an-email', 'zoe.w@example.org')`)).toEqual([]);
      const audit = await t.sql(`select details->>'via' as via, details->>'line' as line from audit_entries where user_id = ?`, [byLine[9].userId]);
      expect(audit).toEqual([{ via: 'csv_import', line: '9' }]);
    });

    it('refuses an unknown or incomplete header (nothing created), a non-CSV body, and reports unreadable CSV', async () => {
      const unknown = await csv('firstName,lastName,email,salary\nA,B,a@example.org,100\n');
      expect(unknown.status).toBe(422);
      expect(unknown.body).toMatchObject({ code: 'invalid_header', unknown: ['salary'] });
      const missing = await csv('firstName,lastName\nA,B\n');
      expect(missing.body).toMatchObject({ code: 'invalid_header', missing: ['email'] });
      expect(await t.sql(`select 1 from users where email = 'a@example.org'`)).toEqual([]);
      expect((await csv('')).status).toBe(422);
      expect((await manager.post('/admin/users/import', { firstName: 'A' })).status).toBe(415);

      const broken = await csv('firstName,lastName,email\nMal,Reynolds,mal.r@example.org\n"Unclosed,quote,x@example.org\n');
      expect(broken.status).toBe(200);
      expect(broken.body).toMatchObject({ created: 1, failed: 1 });
      expect(broken.body.rows[1]).toMatchObject({ line: 3, ok: false, error: { code: 'unreadable_row' } });
    });
  });

  describe('OpenAPI', () => {
    it('serves an OpenAPI 3 document generated from the schemas that validate the requests', async () => {
      const res = await apiClient(t).get('/admin/openapi.json');
      expect(res.status).toBe(200);
      const doc = res.body;
      expect(doc.openapi).toMatch(/^3\./);
      for (const [p, method] of [
        ['/users', 'get'],
        ['/users', 'post'],
        ['/users/{id}', 'patch'],
        ['/users/import', 'post'],
        ['/users/{id}/credentials', 'post'],
        ['/users/{id}/data', 'post'],
        ['/users/{id}/number', 'put'],
        ['/users/{id}/devices', 'get'],
        ['/operations', 'post'],
        ['/operations/{id}', 'get'],
        ['/tasks/{id}', 'get'],
        ['/tasks/{id}/retry', 'post'],
        ['/tasks/{id}/skip-pending-data', 'post'],
        ['/contacts', 'post'],
        ['/numbers', 'post'],
        ['/audit', 'get'],
        ['/settings', 'put'],
        ['/tokens', 'post'],
      ]) {
        expect(doc.paths[p!]?.[method!], `${method} ${p}`).toBeDefined();
      }
      // The same zod schema: its required fields and enums are the ones the server enforces.
      expect(doc.components.schemas.NewUser.required).toEqual(expect.arrayContaining(['firstName', 'lastName', 'email']));
      expect(doc.components.schemas.User.properties.status.enum).toEqual([
        'password_required', 'active', 'inactive', 'disabled', 'banned', 'denied', 'setup_required', 'deleted',
      ]);
      expect(JSON.stringify(doc.components.schemas.OperationRequest)).toContain('permanent_delete');
      expect(doc.paths['/operations'].post.responses['409']).toBeDefined();
      expect(doc.components.securitySchemes.bearer).toMatchObject({ type: 'http', scheme: 'bearer' });
    });
  });

  describe('tenant isolation', () => {
    it("never lets tenant B's token read or change tenant A's users", async () => {
      const user = await t.createUser({ firstName: 'Only', lastName: 'InA' });
      expect((await otherTenantAdmin.get(`/admin/users/${user.id}`)).status).toBe(404);
      expect((await otherTenantAdmin.patch(`/admin/users/${user.id}`, { firstName: 'Hacked' })).status).toBe(404);
      const list = await otherTenantAdmin.get('/admin/users?q=InA');
      expect(list.body.users).toEqual([]);
      const op = await otherTenantAdmin.post('/admin/operations', { action: 'ban', userIds: [user.id] });
      expect(op.status).toBe(422);
      expect(op.body).toMatchObject({ code: 'unknown_users', userIds: [user.id] });
      expect((await otherTenantAdmin.post(`/admin/users/${user.id}/credentials`)).status).toBe(404);
      expect((await otherTenantAdmin.get(`/admin/users/${user.id}/data`)).status).toBe(404);
      expect((await t.getUser(user.id)).firstName).toBe('Only');
      expect((await t.getUser(user.id)).status).toBe('active');

      // The same user name may exist in both tenants.
      const a = await admin.post('/admin/users', { firstName: 'Twin', lastName: 'A', email: 'twin@example.org' });
      const b = await otherTenantAdmin.post('/admin/users', { firstName: 'Twin', lastName: 'B', email: 'twin@example.org' });
      expect([a.status, b.status]).toEqual([201, 201]);
      expect((await admin.get('/admin/users?q=twin')).body.users.map((u: { lastName: string }) => u.lastName)).toEqual(['A']);
    });
  });
});
