import { describe, expect, it } from 'vitest';
import { CORE_GROUP, useScim } from './scim.helpers.ts';

describe('SCIM Groups', () => {
  const s = useScim('scim_groups');
  const memberIds = async (id: string) => ((await s.call('GET', `/Groups/${id}`)).body.members ?? []).map((m: { value: string }) => m.value).sort();
  const newGroup = async (displayName: string, members: string[] = []) => {
    const reply = await s.call('POST', '/Groups', { schemas: [CORE_GROUP], displayName, members: members.map((value) => ({ value })) });
    expect(reply.status).toBe(201);
    return reply.body;
  };

  it('Okta group push: create, rename with id in the value, add plus remove by filter in one request, replace all', async () => {
    const [a, b, c] = await Promise.all([s.createUser(), s.createUser(), s.createUser()]);
    const group = await newGroup('Sales', [a.id]);
    expect(group.members).toEqual([expect.objectContaining({ value: a.id, type: 'User' })]);
    const renamed = await s.patch(`/Groups/${group.id}`, [{ op: 'replace', value: { id: group.id, displayName: 'Sales EMEA' } }]);
    expect(renamed.status).toBe(204);
    expect(renamed.body).toBeUndefined();
    expect((await s.call('GET', `/Groups/${group.id}`)).body.displayName).toBe('Sales EMEA');

    const both = await s.patch(`/Groups/${group.id}`, [
      { op: 'add', path: 'members', value: [{ value: b.id, display: 'b' }, { value: c.id, display: 'c' }] },
      { op: 'remove', path: `members[value eq "${a.id}"]` },
    ]);
    expect(both.status).toBe(204);
    expect(await memberIds(group.id)).toEqual([b.id, c.id].sort());

    await s.patch(`/Groups/${group.id}`, [{ op: 'replace', path: 'members', value: [{ value: a.id }] }]);
    expect(await memberIds(group.id)).toEqual([a.id]);
    // Users see their groups (read-only).
    expect((await s.call('GET', `/Users/${a.id}`)).body.groups).toEqual([expect.objectContaining({ value: group.id, display: 'Sales EMEA' })]);

    const audit = await s.t.sql<{ action: string; actor: string }>(`select action, actor from audit_entries where details->>'groupId' = ? order by id`, [group.id]);
    expect(audit.map((e) => e.action)).toEqual(['group.create', 'group.members', 'group.update', 'group.members', 'group.members']);
    expect(new Set(audit.map((e) => e.actor))).toEqual(new Set([`scim:${s.tokenId}`]));
  });

  it('Entra: Remove with path members and a value list removes only the listed members; capitalised ops', async () => {
    const [a, b, c] = await Promise.all([s.createUser(), s.createUser(), s.createUser()]);
    const group = await newGroup('Support', [a.id, b.id, c.id]);
    const reply = await s.patch(`/Groups/${group.id}`, [{ op: 'Remove', path: 'members', value: [{ value: b.id }] }]);
    expect(reply.status).toBe(204);
    expect(await memberIds(group.id)).toEqual([a.id, c.id].sort());
    await s.patch(`/Groups/${group.id}`, [{ op: 'Add', path: 'members', value: [{ value: b.id }] }]);
    expect(await memberIds(group.id)).toEqual([a.id, b.id, c.id].sort());
  });

  it('Entra lookup: excludedAttributes=members with a displayName filter', async () => {
    const a = await s.createUser();
    const group = await newGroup('Finance Team', [a.id]);
    const reply = await s.call('GET', `/Groups?excludedAttributes=members&filter=${encodeURIComponent('displayName eq "finance team"')}`);
    expect(reply.status).toBe(200);
    expect(reply.body.totalResults).toBe(1);
    expect(reply.body.Resources[0]).toMatchObject({ id: group.id, displayName: 'Finance Team' });
    expect(reply.body.Resources[0]).not.toHaveProperty('members');
    const byMember = await s.call('GET', `/Groups?filter=${encodeURIComponent(`members[value eq "${a.id}"]`)}`);
    expect(byMember.body.Resources.map((g: { id: string }) => g.id)).toEqual([group.id]);
    const byMemberValue = await s.call('GET', `/Groups?filter=${encodeURIComponent(`members.value eq "${a.id}" and externalId pr`)}`);
    expect(byMemberValue.body.totalResults).toBe(0);
  });

  it('displayName is unique per tenant case-insensitively (409); unknown members are 400; PUT replaces; DELETE 204 then 404', async () => {
    const group = await newGroup('Ops');
    const dup = await s.call('POST', '/Groups', { schemas: [CORE_GROUP], displayName: 'OPS' });
    expect(dup).toMatchObject({ status: 409, body: { scimType: 'uniqueness', status: '409' } });
    const unknown = await s.patch(`/Groups/${group.id}`, [{ op: 'add', path: 'members', value: [{ value: '00000000-0000-4000-8000-000000000000' }] }]);
    expect(unknown).toMatchObject({ status: 400, body: { scimType: 'invalidValue' } });
    const a = await s.createUser();
    const put = await s.call('PUT', `/Groups/${group.id}`, { schemas: [CORE_GROUP], displayName: 'Operations', externalId: 'okta-g1', members: [{ value: a.id }] });
    expect(put.status).toBe(200);
    expect(put.body).toMatchObject({ displayName: 'Operations', externalId: 'okta-g1', members: [expect.objectContaining({ value: a.id })] });
    expect(put.body.meta.version).not.toBe(group.meta.version);
    expect((await s.call('DELETE', `/Groups/${group.id}`)).status).toBe(204);
    expect((await s.call('GET', `/Groups/${group.id}`)).status).toBe(404);
    expect(await s.t.sql(`select 1 from group_memberships where group_id = ?`, [group.id])).toEqual([]);
  });

  it("a member keeps the display the IdP gave it when added (Microsoft's validator names it displayName); others show the user's name", async () => {
    const [a, b] = await Promise.all([s.createUser({ displayName: 'Ada L' }), s.createUser({ displayName: 'Bob B' })]);
    const group = await newGroup('Display names');
    const displays = async () => Object.fromEntries(((await s.call('GET', `/Groups/${group.id}`)).body.members ?? []).map((m: { value: string; display?: string }) => [m.value, m.display]));
    expect((await s.patch(`/Groups/${group.id}`, [{ op: 'add', path: 'members', value: [{ displayName: 'new User', value: a.id }, { value: b.id }] }])).status).toBe(204);
    expect(await displays()).toEqual({ [a.id]: 'new User', [b.id]: 'Bob B' });
    // Immutable (SCIMMY's Group schema): a PUT naming the member differently keeps the first display.
    const put = await s.call('PUT', `/Groups/${group.id}`, { schemas: [CORE_GROUP], displayName: 'Display names', members: [{ value: a.id, display: 'Other' }, { value: b.id }] });
    expect(put.status).toBe(200);
    expect(await displays()).toEqual({ [a.id]: 'new User', [b.id]: 'Bob B' });
    // Removed and added again, the member takes the new display.
    await s.patch(`/Groups/${group.id}`, [{ op: 'remove', path: `members[value eq "${a.id}"]` }]);
    await s.patch(`/Groups/${group.id}`, [{ op: 'add', path: 'members', value: [{ display: 'Ada again', value: a.id }] }]);
    expect(await displays()).toEqual({ [a.id]: 'Ada again', [b.id]: 'Bob B' });
  });

  it('a user deleted by the IdP leaves the member lists', async () => {
    const [a, b] = await Promise.all([s.createUser(), s.createUser()]);
    const group = await newGroup('Leavers', [a.id, b.id]);
    await s.call('DELETE', `/Users/${b.id}`);
    expect(await memberIds(group.id)).toEqual([a.id]);
  });

  it('parallel membership PATCHes to one group lose nothing (the group row is locked from read to commit)', async () => {
    const users = await Promise.all(Array.from({ length: 12 }, () => s.createUser()));
    const group = await newGroup('Crowd');
    const replies = await Promise.all(users.map((u) => s.patch(`/Groups/${group.id}`, [{ op: 'add', path: 'members', value: [{ value: u.id }] }])));
    expect(replies.map((r) => r.status)).toEqual(users.map(() => 204));
    expect(await memberIds(group.id)).toEqual(users.map((u) => u.id).sort());
  });
});
