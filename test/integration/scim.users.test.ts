import { describe, expect, it } from 'vitest';
import { CORE_USER, ENTERPRISE, TURNOVER, uniqueName, useScim } from './scim.helpers.ts';

const q = (filter: string, extra = '') => `/Users?filter=${encodeURIComponent(filter)}${extra}`;

describe('SCIM Users: what Okta sends', () => {
  const s = useScim('scim_users_okta');

  it('looks a user up by userName and gets an empty ListResponse when there is none', async () => {
    const reply = await s.call('GET', q(`userName eq "nobody@example.org"`, '&startIndex=1&count=100'));
    expect(reply.status).toBe(200);
    expect(reply.contentType).toMatch(/^application\/scim\+json/);
    expect(reply.body).toEqual({ schemas: ['urn:ietf:params:scim:api:messages:2.0:ListResponse'], totalResults: 0, startIndex: 1, itemsPerPage: 0, Resources: [] });
  });

  it('creates with a password and groups: [], never returns the password, and answers the lookup case-insensitively', async () => {
    const userName = uniqueName('okta');
    const created = await s.call('POST', '/Users', {
      schemas: [CORE_USER],
      userName,
      name: { givenName: 'Grace', familyName: 'Hopper' },
      emails: [{ primary: true, value: userName, type: 'work' }],
      displayName: 'Grace Hopper',
      locale: 'en-US',
      externalId: '00u1okta',
      groups: [],
      password: 'Corr3ct-Horse-Battery',
      active: true,
    });
    expect(created.status).toBe(201);
    expect(created.headers.get('location')).toBe(created.body.meta.location);
    expect(created.body).toMatchObject({ userName, active: true, locale: 'en-US', name: { givenName: 'Grace', familyName: 'Hopper' } });
    expect(created.body).not.toHaveProperty('password');
    expect(created.body[TURNOVER].status).toBe('active'); // the IdP sent a password
    expect(created.body.meta).toMatchObject({ resourceType: 'User', version: expect.stringMatching(/^W\/"1-[0-9a-f]{16}"$/), location: expect.stringMatching(new RegExp(`/scim/v2/Users/${created.body.id}$`)) });
    const row = await s.t.getUser(created.body.id);
    expect(row.passwordHash).toMatch(/^scrypt\$/);

    const found = await s.call('GET', q(`userName eq "${userName.toUpperCase()}"`, '&startIndex=1&count=100'));
    expect(found.body.totalResults).toBe(1);
    expect(found.body.Resources[0].id).toBe(created.body.id);
    expect(JSON.stringify(found.body)).not.toContain('Corr3ct');
  });

  it('updates a profile by GET then PUT of the whole user', async () => {
    const user = await s.createUser({ title: 'Engineer', [TURNOVER]: { extension: '2001', role: 'call_center_agent' } });
    const got = await s.call('GET', `/Users/${user.id}`);
    expect(got.status).toBe(200);
    const put = await s.call('PUT', `/Users/${user.id}`, { ...got.body, name: { givenName: 'Ada', familyName: 'King' }, title: null, id: user.id, meta: { bogus: true } });
    expect(put.status).toBe(200);
    expect(put.body.name).toEqual({ givenName: 'Ada', familyName: 'King' });
    expect(put.body).not.toHaveProperty('title');
    expect(put.body[TURNOVER]).toMatchObject({ extension: '2001', role: 'call_center_agent' });
    expect(put.body.meta.version).toMatch(/^W\/"2-[0-9a-f]{16}"$/);
    expect(new Date(put.body.meta.lastModified).getTime()).toBeGreaterThan(new Date(got.body.meta.lastModified).getTime());
    // A PUT without the turnover extension (Okta does not know it) keeps the seat and role.
    const bare = await s.call('PUT', `/Users/${user.id}`, { schemas: [CORE_USER], userName: user.userName, name: { givenName: 'Ada', familyName: 'King' } });
    expect(bare.body[TURNOVER]).toMatchObject({ extension: '2001', role: 'call_center_agent' });
    // Unchanged PUT: no new version, no audit noise.
    const again = await s.call('PUT', `/Users/${user.id}`, { schemas: [CORE_USER], userName: user.userName, name: { givenName: 'Ada', familyName: 'King' } });
    expect(again.body.meta.version).toBe(bare.body.meta.version);
  });

  it('deactivates and reactivates by a path-less replace of active', async () => {
    const user = await s.createUser({ password: 'Corr3ct-Horse-Battery' });
    const off = await s.patch(`/Users/${user.id}`, [{ op: 'replace', value: { active: false } }]);
    expect(off.status).toBe(200);
    expect(off.body).toMatchObject({ id: user.id, active: false, [TURNOVER]: { status: 'disabled' } });
    const on = await s.patch(`/Users/${user.id}`, [{ op: 'replace', value: { active: true } }]);
    expect(on.body).toMatchObject({ active: true, [TURNOVER]: { status: 'active' } });
    const row = await s.t.getUser(user.id);
    expect([row.status, row.idpActive, row.disabledBy]).toEqual(['active', true, null]);
  });

  it('refuses a second user with the same userName in another case (409 uniqueness)', async () => {
    const user = await s.createUser();
    const dup = await s.call('POST', '/Users', { schemas: [CORE_USER], userName: user.userName.toUpperCase() });
    expect(dup.status).toBe(409);
    expect(dup.contentType).toMatch(/^application\/scim\+json/);
    expect(dup.body).toMatchObject({ schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'], status: '409', scimType: 'uniqueness' });
  });
});

describe('SCIM Users: what Entra ID sends', () => {
  const s = useScim('scim_users_entra');

  it('creates with "active": "False" as a string (a disabled user) and looks it up by externalId, quoted or not', async () => {
    const externalId = `ext-${Date.now()}`;
    const created = await s.call('POST', '/Users', {
      schemas: [CORE_USER, ENTERPRISE],
      externalId,
      userName: uniqueName('entra'),
      active: 'False',
      displayName: 'Alan Turing',
      emails: [{ primary: 'True', type: 'work', value: 'alan@example.org' }],
      name: { formatted: 'Alan Turing', familyName: 'Turing', givenName: 'Alan' },
      [ENTERPRISE]: { employeeNumber: '42', department: 'Research' },
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ active: false, emails: [{ primary: true, value: 'alan@example.org' }], name: { formatted: 'Alan Turing' } });
    expect(created.body[ENTERPRISE]).toEqual({ employeeNumber: '42', department: 'Research' });
    for (const filter of [`externalId eq "${externalId}"`, `externalId eq ${externalId}`]) {
      const found = await s.call('GET', q(filter));
      expect(found.body.Resources.map((r: { id: string }) => r.id)).toEqual([created.body.id]);
    }
    const byEmail = await s.call('GET', q(`emails[type eq "work"].value eq "ALAN@example.org"`));
    expect(byEmail.body.Resources.map((r: { id: string }) => r.id)).toEqual([created.body.id]);
  });

  it('takes capitalised ops, string booleans, filtered and URN paths, and dotted path-less keys', async () => {
    const user = await s.createUser({ emails: [{ type: 'work', value: 'old@example.org', primary: true }] });
    const reply = await s.patch(`/Users/${user.id}`, [
      { op: 'Replace', path: 'emails[type eq "work"].value', value: 'new@example.org' },
      { op: 'Replace', path: 'name.givenName', value: 'Augusta' },
      { op: 'Add', path: `${ENTERPRISE}:employeeNumber`, value: '1815' },
      { op: 'Replace', value: { 'name.familyName': 'King', [`${ENTERPRISE}:department`]: 'Maths', displayName: 'Augusta King' } },
      { op: 'Add', path: 'phoneNumbers[type eq "mobile"].value', value: '+15550100' },
    ]);
    expect(reply.status).toBe(200);
    expect(reply.body).toMatchObject({
      name: { givenName: 'Augusta', familyName: 'King' },
      displayName: 'Augusta King',
      emails: [{ type: 'work', value: 'new@example.org', primary: true }],
      phoneNumbers: [{ type: 'mobile', value: '+15550100' }],
      [ENTERPRISE]: { employeeNumber: '1815', department: 'Maths' },
    });
    expect((await s.t.getUser(user.id)).email).toBe('new@example.org');
    const off = await s.patch(`/Users/${user.id}`, [{ op: 'Replace', path: 'active', value: 'False' }]);
    expect(off.body.active).toBe(false);
  });

  it('sets the manager as an array with $ref, as a plain string, and clears it with an empty value', async () => {
    const boss = await s.createUser({ displayName: 'The Boss' });
    const user = await s.createUser();
    const path = `${ENTERPRISE}:manager`;
    const asArray = await s.patch(`/Users/${user.id}`, [{ op: 'Add', path, value: [{ $ref: null, value: boss.id }] }]);
    expect(asArray.body[ENTERPRISE].manager).toEqual({ value: boss.id, displayName: 'The Boss' });
    const cleared = await s.patch(`/Users/${user.id}`, [{ op: 'Replace', path, value: '' }]);
    expect(cleared.status).toBe(200);
    expect(cleared.body[ENTERPRISE]?.manager).toBeUndefined();
    const asString = await s.patch(`/Users/${user.id}`, [{ op: 'Add', path, value: boss.id }]);
    expect(asString.body[ENTERPRISE].manager.value).toBe(boss.id);
    const filtered = await s.call('GET', q(`${ENTERPRISE}:manager.value eq "${boss.id}"`));
    expect(filtered.body.Resources.map((r: { id: string }) => r.id)).toEqual([user.id]);
    const clearedEmpty = await s.patch(`/Users/${user.id}`, [{ op: 'Add', path, value: [] }]);
    expect(clearedEmpty.body[ENTERPRISE]?.manager).toBeUndefined();
    const unknown = await s.patch(`/Users/${user.id}`, [{ op: 'Add', path, value: '00000000-0000-4000-8000-000000000000' }]);
    expect(unknown).toMatchObject({ status: 400, body: { scimType: 'invalidValue' } });
  });

  it('still returns a soft-deleted (active=false) user by id and in filters; DELETE answers 204 and then 404', async () => {
    const user = await s.createUser({ externalId: `soft-${Date.now()}` });
    await s.patch(`/Users/${user.id}`, [{ op: 'Replace', path: 'active', value: 'False' }]);
    expect((await s.call('GET', `/Users/${user.id}`)).body.active).toBe(false);
    expect((await s.call('GET', q(`externalId eq "${user.externalId}"`))).body.totalResults).toBe(1);
    const deleted = await s.call('DELETE', `/Users/${user.id}`);
    expect(deleted.status).toBe(204);
    expect(deleted.body).toBeUndefined();
    const gone = await s.call('GET', `/Users/${user.id}`);
    expect(gone.status).toBe(404);
    expect(gone.body).toMatchObject({ status: '404' });
    expect((await s.call('GET', q(`externalId eq "${user.externalId}"`))).body.totalResults).toBe(0);
    expect((await s.call('DELETE', `/Users/${user.id}`)).status).toBe(404);
  });

  it('treats an empty Operations array as a no-op and answers the user', async () => {
    const user = await s.createUser();
    const reply = await s.patch(`/Users/${user.id}`, []);
    expect(reply.status).toBe(200);
    expect(reply.body).toMatchObject({ id: user.id, meta: { version: user.meta.version } });
  });

  it('ignores read-only and unknown attributes, treats nulls as absent, and refuses two primary emails', async () => {
    const created = await s.call('POST', '/Users', {
      schemas: [CORE_USER],
      id: 'client-chosen',
      userName: uniqueName('ro'),
      meta: { created: '2001-01-01T00:00:00Z' },
      groups: [{ value: 'x' }],
      favouriteColour: 'blue',
      title: null,
      [TURNOVER]: { status: 'banned', extension: '7001' },
    });
    expect(created.status).toBe(201);
    expect(created.body.id).not.toBe('client-chosen');
    expect(created.body).not.toHaveProperty('favouriteColour');
    expect(created.body).not.toHaveProperty('title');
    expect(new Date(created.body.meta.created).getFullYear()).toBeGreaterThan(2001);
    expect(created.body[TURNOVER]).toMatchObject({ extension: '7001', status: 'password_required' });
    const twoPrimary = await s.call('POST', '/Users', {
      schemas: [CORE_USER],
      userName: uniqueName('two'),
      emails: [{ type: 'work', value: 'a@example.org', primary: true }, { type: 'work', value: 'b@example.org', primary: true }],
    });
    expect(twoPrimary).toMatchObject({ status: 400, body: { scimType: 'invalidValue' } });
  });

  it('honours attributes and excludedAttributes on reads and writes', async () => {
    const user = await s.createUser({ title: 'Boss' });
    const only = await s.call('GET', `/Users/${user.id}?attributes=userName`);
    expect(only.body).toMatchObject({ id: user.id, userName: user.userName });
    expect(only.body).not.toHaveProperty('name');
    expect(only.body).not.toHaveProperty('title');
    const without = await s.call('GET', `/Users?filter=${encodeURIComponent(`id eq "${user.id}"`)}&excludedAttributes=title,name`);
    expect(without.body.Resources[0]).not.toHaveProperty('title');
    expect(without.body.Resources[0]).toHaveProperty('userName');
    const patched = await s.call('PATCH', `/Users/${user.id}?attributes=title`, { schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: 'replace', path: 'title', value: 'Chief' }] });
    expect(patched.body.title).toBe('Chief');
    expect(patched.body).not.toHaveProperty('userName');
    // The selection shapes the answer only: the user kept everything else.
    expect((await s.call('GET', `/Users/${user.id}`)).body).toMatchObject({ userName: user.userName, name: user.name });
    // Microsoft's validator puts a value filter in the list; the whole attribute comes back.
    const withEmails = await s.createUser({ emails: [{ type: 'work', value: `w.${user.userName}` }, { type: 'home', value: `h.${user.userName}` }] });
    const filtered = await s.call('GET', `/Users/${withEmails.id}?attributes=${encodeURIComponent('emails[type eq "work"]')}`);
    expect(filtered.status).toBe(200);
    expect(filtered.body.emails).toHaveLength(2);
    expect(filtered.body).not.toHaveProperty('name');
  });
});

describe('SCIM Users: a burst of creates (they share statements, src/scim/create-batch.ts)', () => {
  const s = useScim('scim_users_burst');

  it('answers each create on its own: the duplicate gets 409, the rest 201 with one audit entry and one welcome task each', async () => {
    const names = Array.from({ length: 30 }, () => uniqueName('burst'));
    // The last one repeats the first, in other case: one of the two must be refused, whichever lands second.
    const bodies = [...names, names[0]!.toUpperCase()].map((userName) => ({ schemas: [CORE_USER], userName, name: { givenName: 'Burst', familyName: 'User' } }));
    const replies = await Promise.all(bodies.map((body) => s.call('POST', '/Users', body)));
    expect(replies.map((r) => r.status).sort()).toEqual([...Array(30).fill(201), 409]);
    const conflict = replies.find((r) => r.status === 409)!;
    expect(conflict.body).toMatchObject({ status: '409', scimType: 'uniqueness' });
    const ids = replies.filter((r) => r.status === 201).map((r) => r.body.id as string);
    expect(new Set(ids).size).toBe(30);
    const rows = await s.t.sql<{ audits: string; welcomes: string; users: string }>(
      `select (select count(*) from audit_entries where action = 'user.create' and user_id = any(?::uuid[])) as audits,
              (select count(*) from tasks where type = 'welcome_email' and user_id = any(?::uuid[])) as welcomes,
              (select count(*) from users where id = any(?::uuid[])) as users`,
      [`{${ids.join(',')}}`, `{${ids.join(',')}}`, `{${ids.join(',')}}`],
    );
    expect(rows[0]).toEqual({ audits: '30', welcomes: '30', users: '30' });
  });
});
