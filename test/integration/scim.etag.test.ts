import { describe, expect, it } from 'vitest';
import { CORE_GROUP, CORE_USER, PATCH_OP, uniqueName, useScim, type ScimReply } from './scim.helpers.ts';

/** RFC 7644 §3.14: meta.version, the ETag header, If-None-Match (304) and If-Match (412). */
describe('SCIM ETags', () => {
  const s = useScim('scim_etag');
  const etag = (reply: ScimReply) => reply.headers.get('etag');
  const get = (path: string, headers?: Record<string, string>) => s.call('GET', path, undefined, headers);
  const patch = (path: string, Operations: unknown[], ifMatch?: string) => s.call('PATCH', path, { schemas: [PATCH_OP], Operations }, ifMatch === undefined ? {} : { 'if-match': ifMatch });
  const newGroup = async (displayName: string, members: string[] = []) => {
    const reply = await s.call('POST', '/Groups', { schemas: [CORE_GROUP], displayName, members: members.map((value) => ({ value })) });
    expect(reply.status).toBe(201);
    return reply;
  };
  const versionOf = async (path: string) => (await get(path)).body.meta.version as string;

  it('User: the ETag header is meta.version on POST, GET, PUT and PATCH; reads leave it, changes move it', async () => {
    const userName = uniqueName('etag');
    const created = await s.call('POST', '/Users', { schemas: [CORE_USER], userName, name: { givenName: 'Ada', familyName: 'Lovelace' } });
    expect(created.status).toBe(201);
    const v1 = created.body.meta.version as string;
    expect(v1).toMatch(/^W\/"[^"]+"$/);
    expect(etag(created)).toBe(v1);
    const path = `/Users/${created.body.id}`;

    const got = await get(path);
    expect([got.status, etag(got), got.body.meta.version]).toEqual([200, v1, v1]);
    expect((await get(path)).body.meta.version).toBe(v1);
    // The header stays when `attributes` leaves meta out of the body.
    expect(etag(await get(`${path}?attributes=userName`))).toBe(v1);
    // A list has each resource's meta.version.
    const listed = await get(`/Users?filter=${encodeURIComponent(`userName eq "${userName}"`)}`);
    expect(listed.body.Resources[0].meta.version).toBe(v1);
    // No ETag on a list, nor on an error: only a resource's meta.version is ever sent as one.
    expect([etag(listed), etag(await get('/Users/00000000-0000-4000-8000-000000000000'))]).toEqual([null, null]);

    const put = await s.call('PUT', path, { schemas: [CORE_USER], userName, name: { givenName: 'Ada', familyName: 'King' } });
    expect(put.status).toBe(200);
    expect(etag(put)).toBe(put.body.meta.version);
    expect(put.body.meta.version).not.toBe(v1);

    const patched = await patch(path, [{ op: 'replace', path: 'title', value: 'Countess' }]);
    expect(patched.status).toBe(200);
    expect(etag(patched)).toBe(patched.body.meta.version);
    expect(patched.body.meta.version).not.toBe(put.body.meta.version);
    // The same value again changes nothing: the same version.
    const same = await patch(path, [{ op: 'replace', path: 'title', value: 'Countess' }]);
    expect([etag(same), same.body.meta.version]).toEqual([patched.body.meta.version, patched.body.meta.version]);
    expect(await versionOf(path)).toBe(patched.body.meta.version);
  });

  it('Group: the ETag header is meta.version on POST, GET and PUT, and comes with the 204 of a PATCH', async () => {
    const created = await newGroup('Etag Ops');
    const v1 = created.body.meta.version as string;
    expect(etag(created)).toBe(v1);
    const path = `/Groups/${created.body.id}`;
    const got = await get(path);
    expect([etag(got), got.body.meta.version]).toEqual([v1, v1]);

    const renamed = await patch(path, [{ op: 'replace', path: 'displayName', value: 'Etag Operations' }]);
    expect(renamed.status).toBe(204);
    expect(renamed.body).toBeUndefined();
    expect(etag(renamed)).not.toBe(v1);
    expect(await versionOf(path)).toBe(etag(renamed));

    const put = await s.call('PUT', path, { schemas: [CORE_GROUP], displayName: 'Etag Operations', externalId: 'g-etag' });
    expect(put.status).toBe(200);
    expect(etag(put)).toBe(put.body.meta.version);
    expect(put.body.meta.version).not.toBe(etag(renamed));
    // Entra's lookup leaves the members out; the version is the same.
    const listed = await get(`/Groups?excludedAttributes=members&filter=${encodeURIComponent('displayName eq "Etag Operations"')}`);
    expect(listed.body.Resources[0].meta.version).toBe(put.body.meta.version);
  });

  it('a membership change is a new version of both the group and the user; so are a member\'s new name and a group\'s new name', async () => {
    const user = await s.createUser();
    const group = (await newGroup('Etag Members')).body;
    const userPath = `/Users/${user.id}`;
    const groupPath = `/Groups/${group.id}`;
    let u = await versionOf(userPath);
    let g = await versionOf(groupPath);
    /** Asserts which of the two versions moved since the last call. */
    const moved = async (expected: { user: boolean; group: boolean }) => {
      const [u2, g2] = [await versionOf(userPath), await versionOf(groupPath)];
      expect({ user: u2 !== u, group: g2 !== g }).toEqual(expected);
      [u, g] = [u2, g2];
    };

    expect((await patch(groupPath, [{ op: 'add', path: 'members', value: [{ value: user.id }] }])).status).toBe(204);
    await moved({ user: true, group: true });
    // The member's display in the group follows the user.
    expect((await patch(userPath, [{ op: 'replace', path: 'displayName', value: 'Ada the Countess' }])).status).toBe(200);
    await moved({ user: true, group: true });
    // The group's display in the user's groups follows the group.
    expect((await patch(groupPath, [{ op: 'replace', path: 'displayName', value: 'Etag Members 2' }])).status).toBe(204);
    await moved({ user: true, group: true });
    // A change of the user that neither side shows in the group: only the user moves.
    expect((await patch(userPath, [{ op: 'replace', path: 'title', value: 'Analyst' }])).status).toBe(200);
    await moved({ user: true, group: false });
    expect((await patch(groupPath, [{ op: 'remove', path: `members[value eq "${user.id}"]` }])).status).toBe(204);
    await moved({ user: true, group: true });

    // A member the IdP deletes leaves the member list: the group moves.
    expect((await patch(groupPath, [{ op: 'add', path: 'members', value: [{ value: user.id }] }])).status).toBe(204);
    g = await versionOf(groupPath);
    expect((await s.call('DELETE', userPath)).status).toBe(204);
    expect((await get(groupPath)).body.members).toBeUndefined();
    expect(await versionOf(groupPath)).not.toBe(g);
  });

  it('If-None-Match on GET: 304 without a body for the current tag, `*`, a list holding it or its strong form; 200 when stale', async () => {
    const user = await s.createUser();
    const group = (await newGroup('Etag Cache')).body;
    for (const path of [`/Users/${user.id}`, `/Groups/${group.id}`]) {
      const current = await versionOf(path);
      const strong = current.replace(/^W\//, '');
      for (const header of [current, '*', `W/"stale", ${current}`, strong]) {
        const reply = await get(path, { 'if-none-match': header });
        expect({ header, status: reply.status, body: reply.body, etag: etag(reply) }).toEqual({ header, status: 304, body: undefined, etag: current });
      }
      const stale = await get(path, { 'if-none-match': 'W/"0-stale"' });
      expect([stale.status, stale.body.id, etag(stale)]).toEqual([200, path.split('/')[2], current]);
    }
  });

  it('If-Match on PUT, PATCH and DELETE of a User: a stale tag is 412 and changes nothing; the current tag or * goes through', async () => {
    const user = await s.createUser({ title: 'Engineer' });
    const path = `/Users/${user.id}`;
    const stale = user.meta.version as string;
    const current = (await patch(path, [{ op: 'replace', path: 'title', value: 'Lead' }])).body.meta.version as string;
    const audit = async () => (await s.t.sql(`select id from audit_entries where user_id = ?`, [user.id])).length;
    const entries = await audit();

    const refusals = [
      await s.call('PUT', path, { schemas: [CORE_USER], userName: user.userName, title: 'Put' }, { 'if-match': stale }),
      await patch(path, [{ op: 'replace', path: 'title', value: 'Patched' }], stale),
      await patch(path, [{ op: 'replace', path: 'active', value: false }], `W/"nope", ${stale}`),
      await s.call('DELETE', path, undefined, { 'if-match': stale }),
    ];
    for (const refused of refusals) {
      expect(refused.status).toBe(412);
      expect(refused.contentType).toMatch(/^application\/scim\+json/);
      expect(refused.body).toMatchObject({ schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'], status: '412', detail: expect.stringContaining(current) });
      expect(etag(refused)).toBeNull();
    }
    const after = await get(path);
    expect([after.status, after.body.title, after.body.active, after.body.meta.version]).toEqual([200, 'Lead', true, current]);
    expect(await audit()).toBe(entries);
    expect((await s.t.getUser(user.id)).status).toBe('password_required');

    const ok = await patch(path, [{ op: 'replace', path: 'title', value: 'Patched' }], current);
    expect([ok.status, ok.body.title]).toEqual([200, 'Patched']);
    const any = await s.call('PUT', path, { schemas: [CORE_USER], userName: user.userName, title: 'Put' }, { 'if-match': '*' });
    expect([any.status, any.body.title]).toEqual([200, 'Put']);
    expect((await s.call('DELETE', path, undefined, { 'if-match': any.body.meta.version })).status).toBe(204);
    expect((await get(path)).status).toBe(404);
  });

  it('If-Match on PUT, PATCH and DELETE of a Group: a stale tag is 412 and changes nothing', async () => {
    const member = await s.createUser();
    const created = (await newGroup('Etag Guarded', [member.id])).body;
    const path = `/Groups/${created.id}`;
    const stale = created.meta.version as string;
    expect((await patch(path, [{ op: 'replace', path: 'externalId', value: 'g-1' }])).status).toBe(204);
    const current = await versionOf(path);

    const refusals = [
      await s.call('PUT', path, { schemas: [CORE_GROUP], displayName: 'Renamed' }, { 'if-match': stale }),
      await patch(path, [{ op: 'remove', path: 'members' }], stale),
      await s.call('DELETE', path, undefined, { 'if-match': stale }),
    ];
    expect(refusals.map((r) => [r.status, r.body?.status])).toEqual([
      [412, '412'],
      [412, '412'],
      [412, '412'],
    ]);
    const after = await get(path);
    expect([after.body.displayName, after.body.members.map((m: { value: string }) => m.value), after.body.meta.version]).toEqual(['Etag Guarded', [member.id], current]);

    const ok = await patch(path, [{ op: 'remove', path: 'members' }], current);
    expect(ok.status).toBe(204);
    expect((await s.call('DELETE', path, undefined, { 'if-match': etag(ok)! })).status).toBe(204);
  });

  it('two PATCHes with the same If-Match at once: exactly one wins, the other is 412', async () => {
    // Concurrent fetches go out on separate connections (undici does not pipeline), so each
    // request has its own transaction; the loser waits on the row lock, then sees the new tag.
    const user = await s.createUser();
    const group = (await newGroup('Etag Race')).body;
    for (let round = 0; round < 5; round++) {
      const userPath = `/Users/${user.id}`;
      const tag = await versionOf(userPath);
      const titles = [`A${round}`, `B${round}`];
      const replies = await Promise.all(titles.map((title) => patch(userPath, [{ op: 'replace', path: 'title', value: title }], tag)));
      expect(replies.map((r) => r.status).sort()).toEqual([200, 412]);
      const winner = replies.findIndex((r) => r.status === 200);
      expect((await get(userPath)).body.title).toBe(titles[winner]);

      const groupPath = `/Groups/${group.id}`;
      const groupTag = await versionOf(groupPath);
      const names = [`Etag Race A${round}`, `Etag Race B${round}`];
      const groupReplies = await Promise.all(names.map((name) => patch(groupPath, [{ op: 'replace', path: 'displayName', value: name }], groupTag)));
      expect(groupReplies.map((r) => r.status).sort()).toEqual([204, 412]);
      expect((await get(groupPath)).body.displayName).toBe(names[groupReplies.findIndex((r) => r.status === 204)]);
    }
  });
});
