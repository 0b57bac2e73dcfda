import { afterEach, describe, expect, it } from 'vitest';
import { insertApiToken } from '../../src/store/tokens.ts';
import { CORE_USER, uniqueName, useScim } from './scim.helpers.ts';

const ERROR = 'urn:ietf:params:scim:api:messages:2.0:Error';

describe('SCIM errors and media types', () => {
  const s = useScim('scim_errors');

  it('401 with a SCIM body for a missing, wrong, revoked or non-SCIM token', async () => {
    const em = s.t.runtime.orm.em.fork();
    const admin = insertApiToken(em, { tenantId: s.t.tenantId, kind: 'admin', role: 'admin', actor: 'test' }).token;
    const revoked = insertApiToken(em, { tenantId: s.t.tenantId, kind: 'scim', actor: 'test', expiresAt: new Date(Date.now() - 1000) }).token;
    await em.flush();
    for (const authorization of ['', 'Bearer', 'Bearer tov_scim_wrong', `Bearer ${admin}`, `Bearer ${revoked}`, `Basic ${s.token}`]) {
      const reply = await s.call('GET', '/Users', undefined, { authorization });
      expect(reply.status, authorization).toBe(401);
      expect(reply.contentType).toMatch(/^application\/scim\+json/);
      expect(reply.headers.get('www-authenticate')).toMatch(/^Bearer/);
      expect(reply.body).toMatchObject({ schemas: [ERROR], status: '401' });
    }
  });

  it('a create with a token verified before is refused 401 once the token is revoked or expired, and writes nothing', async () => {
    const em = s.t.runtime.orm.em.fork();
    const { token, record } = insertApiToken(em, { tenantId: s.t.tenantId, kind: 'scim', actor: 'test' });
    await em.flush();
    const headers = { authorization: `Bearer ${token}` };
    // The first request looks the token up, which lets later creates check it in their own statement.
    expect((await s.call('POST', '/Users', { schemas: [CORE_USER], userName: uniqueName('live') }, headers)).status).toBe(201);
    for (const stop of [`update api_tokens set revoked_at = now() where id = ?`, `update api_tokens set revoked_at = null, expires_at = now() where id = ?`]) {
      await s.t.sql(stop, [record.id]);
      const userName = uniqueName('dead');
      const reply = await s.call('POST', '/Users', { schemas: [CORE_USER], userName }, headers);
      expect(reply.status, stop).toBe(401);
      expect(reply.body).toMatchObject({ schemas: [ERROR], status: '401' });
      expect(await s.t.sql(`select id from users where user_name = ?`, [userName])).toEqual([]);
    }
  });

  it("a create with a token verified before follows the tenant's policy as changed since", async () => {
    const em = s.t.runtime.orm.em.fork();
    const { token } = insertApiToken(em, { tenantId: s.t.tenantId, kind: 'scim', actor: 'test' });
    await em.flush();
    const headers = { authorization: `Bearer ${token}` };
    const [{ policy } = { policy: null }] = await s.t.sql<{ policy: unknown }>(`select policy from tenants where id = ?`, [s.t.tenantId]);
    const welcomes = (id: string) => s.t.sql(`select 1 from tasks where type = 'welcome_email' and user_id = ?`, [id]);
    try {
      const before = await s.call('POST', '/Users', { schemas: [CORE_USER], userName: uniqueName('policy') }, headers);
      expect(before.status).toBe(201);
      expect(await welcomes(before.body.id)).toHaveLength(1);
      await s.t.sql(`update tenants set policy = coalesce(policy, '{}'::jsonb) || '{"sendWelcomeOnScimCreate": false}'::jsonb where id = ?`, [s.t.tenantId]);
      const after = await s.call('POST', '/Users', { schemas: [CORE_USER], userName: uniqueName('policy') }, headers);
      expect(after.status).toBe(201);
      expect(await welcomes(after.body.id)).toHaveLength(0);
    } finally {
      await s.t.sql(`update tenants set policy = ?::jsonb where id = ?`, [JSON.stringify(policy), s.t.tenantId]);
    }
  });

  it('404 SCIM error for unknown paths and unknown ids', async () => {
    for (const path of ['/Nope', '/Users/00000000-0000-4000-8000-000000000000', '/Users/not-a-uuid', '/Groups/00000000-0000-4000-8000-000000000000']) {
      const reply = await s.call('GET', path);
      expect(reply.status, path).toBe(404);
      expect(reply.contentType).toMatch(/^application\/scim\+json/);
      expect(reply.body).toMatchObject({ schemas: [ERROR], status: '404' });
    }
  });

  it('accepts application/json and application/scim+json with or without charset', async () => {
    for (const type of ['application/json', 'application/json; charset=utf-8', 'application/scim+json', 'application/scim+json;charset=UTF-8']) {
      const reply = await s.call('POST', '/Users', { schemas: [CORE_USER], userName: uniqueName('ct') }, { 'content-type': type });
      expect(reply.status, type).toBe(201);
      expect(reply.contentType).toBe('application/scim+json; charset=utf-8');
    }
  });

  it('400 invalidSyntax for malformed JSON and for a body that is not a resource', async () => {
    const malformed = await s.call('POST', '/Users', '{"userName": "x",', { 'content-type': 'application/scim+json' });
    expect(malformed).toMatchObject({ status: 400, body: { schemas: [ERROR], status: '400', scimType: 'invalidSyntax' } });
    expect(malformed.contentType).toMatch(/^application\/scim\+json/);
    const array = await s.call('POST', '/Users', [{ userName: 'x' }]);
    expect(array).toMatchObject({ status: 400, body: { scimType: 'invalidSyntax' } });
  });

  it('413 for an oversized body', async () => {
    const reply = await s.call('POST', '/Users', { schemas: [CORE_USER], userName: uniqueName('big'), title: 'x'.repeat(600 * 1024) });
    expect(reply.status).toBe(413);
    expect(reply.contentType).toMatch(/^application\/scim\+json/);
    expect(reply.body).toMatchObject({ schemas: [ERROR], status: '413' });
  });

  it('400 invalidValue for a missing userName, a wrong type, a non-canonical role', async () => {
    for (const body of [{ name: { givenName: 'x' } }, { userName: uniqueName(), active: 'maybe' }, { userName: uniqueName(), 'urn:ietf:params:scim:schemas:extension:turnover:2.0:User': { role: 'emperor' } }]) {
      const reply = await s.call('POST', '/Users', { schemas: [CORE_USER], ...body });
      expect(reply.status, JSON.stringify(body)).toBe(400);
      expect(reply.body.scimType).toBe('invalidValue');
    }
  });

  it('400 invalidPath for an unknown PATCH path, invalidFilter for a bad value filter, invalidSyntax for an unknown op', async () => {
    const user = await s.createUser();
    const badPath = await s.patch(`/Users/${user.id}`, [{ op: 'replace', path: 'favourite.colour', value: 'blue' }]);
    expect(badPath).toMatchObject({ status: 400, body: { scimType: 'invalidPath' } });
    const badOp = await s.patch(`/Users/${user.id}`, [{ op: 'move', path: 'title', value: 'x' }]);
    expect(badOp).toMatchObject({ status: 400, body: { scimType: 'invalidSyntax' } });
    const wrongSchema = await s.call('PATCH', `/Users/${user.id}`, { schemas: [CORE_USER], Operations: [{ op: 'replace', path: 'title', value: 'x' }] });
    expect(wrongSchema).toMatchObject({ status: 400, body: { scimType: 'invalidSyntax' } });
    for (const Operations of [[42], 'x', [{ path: 'title' }], [{ op: 'add', path: 'title' }]]) {
      const malformed = await s.call('PATCH', `/Users/${user.id}`, { schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations });
      expect(malformed.status, JSON.stringify(Operations)).toBe(400);
      expect(['invalidValue', 'invalidSyntax']).toContain(malformed.body.scimType);
    }
    const readOnly = await s.patch(`/Users/${user.id}`, [{ op: 'replace', path: 'id', value: '00000000-0000-4000-8000-000000000000' }]);
    expect(readOnly.status).toBe(400);
    expect((await s.call('GET', `/Users/${user.id}`)).status).toBe(200);
  });

  describe('storage failures are 5xx, never 404', () => {
    afterEach(async () => {
      await s.t.sql(`alter table if exists broken_memberships rename to group_memberships`);
      await s.t.sql(`alter table if exists broken_audit rename to audit_entries`);
    });

    it('a read that fails in the database answers 500, not "not found"', async () => {
      const user = await s.createUser();
      await s.t.sql(`alter table group_memberships rename to broken_memberships`);
      const reply = await s.call('GET', `/Users/${user.id}`);
      expect(reply.status).toBe(500);
      expect(reply.body).toMatchObject({ schemas: [ERROR], status: '500' });
      expect(reply.contentType).toMatch(/^application\/scim\+json/);
    });

    it('a write that fails in the database answers 500 and leaves nothing behind', async () => {
      const userName = uniqueName('rollback');
      await s.t.sql(`alter table audit_entries rename to broken_audit`);
      const reply = await s.call('POST', '/Users', { schemas: [CORE_USER], userName });
      expect(reply.status).toBe(500);
      await s.t.sql(`alter table broken_audit rename to audit_entries`);
      expect(await s.t.sql(`select 1 from users where user_name = ?`, [userName])).toEqual([]);
      const user = await s.createUser();
      await s.t.sql(`alter table audit_entries rename to broken_audit`);
      const patch = await s.patch(`/Users/${user.id}`, [{ op: 'replace', value: { active: false } }]);
      expect(patch.status).toBe(500);
      await s.t.sql(`alter table broken_audit rename to audit_entries`);
      expect((await s.t.getUser(user.id)).status).toBe('password_required');
    });
  });
});
