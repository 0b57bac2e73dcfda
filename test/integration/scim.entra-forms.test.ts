import { describe, expect, it } from 'vitest';
import { CORE_USER, ENTERPRISE, uniqueName, useScim } from './scim.helpers.ts';

const q = (filter: string) => `/Users?filter=${encodeURIComponent(filter)}`;
const ids = (reply: { body: { Resources: Array<{ id: string }> } }) => reply.body.Resources.map((r) => r.id);

describe('SCIM Users: several values of one type (RFC 7643 §2.4)', () => {
  const s = useScim('scim_entra_forms_multi');

  it('creates a user with two work emails and two work phones, stores and returns them all', async () => {
    const userName = uniqueName('two');
    const created = await s.call('POST', '/Users', {
      schemas: [CORE_USER],
      userName,
      emails: [
        { type: 'work', value: `first.${userName}` },
        { type: 'work', value: `second.${userName}`, primary: true },
      ],
      phoneNumbers: [
        { type: 'work', value: '+1 555 0100' },
        { type: 'work', value: '+1 555 0101' },
      ],
    });
    expect(created.status).toBe(201);
    expect(created.body.emails.map((e: { value: string }) => e.value)).toEqual([`first.${userName}`, `second.${userName}`]);
    expect(created.body.phoneNumbers).toHaveLength(2);
    const row = await s.t.getUser(created.body.id);
    expect(row.emails).toHaveLength(2);
    expect(row.email).toBe(`second.${userName}`); // the primary one
    const read = await s.call('GET', `/Users/${created.body.id}`);
    expect(read.body.emails).toHaveLength(2);
  });

  it('finds the user by its second work email, with a value path and with emails.value', async () => {
    const userName = uniqueName('find');
    const user = await s.createUser({ emails: [{ type: 'work', value: `a.${userName}` }, { type: 'work', value: `b.${userName}` }] });
    expect(ids(await s.call('GET', q(`emails[type eq "work"].value eq "b.${userName}"`)))).toEqual([user.id]);
    expect(ids(await s.call('GET', q(`emails.value eq "b.${userName}"`)))).toEqual([user.id]);
    expect(ids(await s.call('GET', q(`emails[type eq "home"].value eq "b.${userName}"`)))).toEqual([]);
  });

  it('a PATCH of emails[type eq "work"].value replaces every work value (RFC 7644 §3.5.2), and keeps the others', async () => {
    const userName = uniqueName('patch');
    const user = await s.createUser({
      emails: [
        { type: 'work', value: `a.${userName}` },
        { type: 'home', value: `home.${userName}` },
        { type: 'work', value: `b.${userName}` },
      ],
    });
    const replaced = await s.patch(`/Users/${user.id}`, [{ op: 'Replace', path: 'emails[type eq "work"].value', value: `new.${userName}` }]);
    expect(replaced.status).toBe(200);
    expect(replaced.body.emails).toEqual([
      { type: 'work', value: `new.${userName}` },
      { type: 'home', value: `home.${userName}` },
      { type: 'work', value: `new.${userName}` },
    ]);
    const row = await s.t.getUser(user.id);
    expect(row.email).toBe(`new.${userName}`);
    expect(ids(await s.call('GET', q(`emails[type eq "work"].value eq "new.${userName}"`)))).toEqual([user.id]);
    expect(ids(await s.call('GET', q(`emails.value eq "b.${userName}"`)))).toEqual([]);
    // Entra's own op for it is Add: it sets the matching values too, rather than appending.
    const added = await s.patch(`/Users/${user.id}`, [{ op: 'Add', path: 'emails[type eq "work"].value', value: `added.${userName}` }]);
    expect(added.body.emails.map((e: { value: string }) => e.value)).toEqual([`added.${userName}`, `home.${userName}`, `added.${userName}`]);
  });

  it('still refuses two primary values of one attribute (400 invalidValue)', async () => {
    const userName = uniqueName('primary');
    const reply = await s.call('POST', '/Users', {
      schemas: [CORE_USER],
      userName,
      emails: [
        { type: 'work', value: `a.${userName}`, primary: true },
        { type: 'home', value: `b.${userName}`, primary: true },
      ],
    });
    expect(reply).toMatchObject({ status: 400, body: { scimType: 'invalidValue' } });
    const phones = await s.call('POST', '/Users', {
      schemas: [CORE_USER],
      userName,
      phoneNumbers: [
        { type: 'work', value: '1', primary: true },
        { type: 'work', value: '2', primary: 'True' },
      ],
    });
    expect(phones).toMatchObject({ status: 400, body: { scimType: 'invalidValue' } });
  });
});

describe("SCIM Users: Entra ID's manager forms", () => {
  const s = useScim('scim_entra_forms_manager');
  const urnPath = `${ENTERPRISE}:manager`;

  async function managerOf(id: string): Promise<unknown> {
    const read = await s.call('GET', `/Users/${id}`);
    expect(read.status).toBe(200);
    return read.body[ENTERPRISE]?.manager;
  }

  it('sets the manager with the path "manager" and an array value, as Entra does', async () => {
    const boss = await s.createUser({ displayName: 'Boss One' });
    const user = await s.createUser();
    const reply = await s.patch(`/Users/${user.id}`, [{ op: 'Add', path: 'manager', value: [{ $ref: `https://idp.example/Users/${boss.id}`, value: boss.id }] }]);
    expect(reply.status).toBe(200);
    expect(await managerOf(user.id)).toEqual({ value: boss.id, displayName: 'Boss One' });
  });

  it('replaces it through the URN path with a plain id string', async () => {
    const first = await s.createUser();
    const second = await s.createUser({ displayName: 'Boss Two' });
    const user = await s.createUser({ [ENTERPRISE]: { manager: { value: first.id } } });
    const reply = await s.patch(`/Users/${user.id}`, [{ op: 'Replace', path: urnPath, value: second.id }]);
    expect(reply.status).toBe(200);
    expect(await managerOf(user.id)).toEqual({ value: second.id, displayName: 'Boss Two' });
  });

  it.each([
    ['""', ''],
    ['[]', []],
    ['null', null],
  ])('clears it with a Replace of %s through the URN path', async (_label, value) => {
    const boss = await s.createUser();
    const user = await s.createUser({ [ENTERPRISE]: { manager: { value: boss.id }, department: 'Kept' } });
    const reply = await s.patch(`/Users/${user.id}`, [{ op: 'Replace', path: urnPath, value }]);
    expect(reply.status).toBe(200);
    expect(await managerOf(user.id)).toBeUndefined();
    expect((await s.call('GET', `/Users/${user.id}`)).body[ENTERPRISE].department).toBe('Kept');
  });

  it.each([
    ['Add, URN path, plain id', (id: string) => ({ op: 'Add', path: `${ENTERPRISE}:manager`, value: id })],
    ['Add, short path, $ref null', (id: string) => ({ op: 'Add', path: 'manager', value: [{ $ref: null, value: id }] })],
    ['Replace, URN path, {value}', (id: string) => ({ op: 'Replace', path: `${ENTERPRISE}:manager`, value: { value: id } })],
    ['Replace, manager.value path', (id: string) => ({ op: 'Replace', path: `${ENTERPRISE}:manager.value`, value: id })],
    ['Replace without a path, URN key', (id: string) => ({ op: 'Replace', value: { [`${ENTERPRISE}:manager`]: id } })],
  ])('sets it with %s', async (_label, operation) => {
    const boss = await s.createUser({ displayName: 'Boss Three' });
    const user = await s.createUser({ [ENTERPRISE]: { department: 'Kept' } });
    const reply = await s.patch(`/Users/${user.id}`, [operation(boss.id)]);
    expect(reply.status).toBe(200);
    expect(reply.body[ENTERPRISE].manager).toEqual({ value: boss.id, displayName: 'Boss Three' });
    expect(await managerOf(user.id)).toEqual({ value: boss.id, displayName: 'Boss Three' });
    expect((await s.call('GET', `/Users/${user.id}`)).body[ENTERPRISE].department).toBe('Kept');
  });

  it.each([
    ['Replace without a path, URN key, ""', { op: 'Replace', value: { [`${ENTERPRISE}:manager`]: '' } }],
    ['Replace, URN path, {value: ""}', { op: 'Replace', path: `${ENTERPRISE}:manager`, value: { value: '' } }],
    ['Remove, URN path', { op: 'Remove', path: `${ENTERPRISE}:manager` }],
    ['Remove, short path', { op: 'Remove', path: 'manager' }],
  ])('clears it with %s', async (_label, operation) => {
    const boss = await s.createUser();
    const user = await s.createUser({ [ENTERPRISE]: { manager: { value: boss.id }, department: 'Kept' } });
    expect(await managerOf(user.id)).toMatchObject({ value: boss.id });
    const reply = await s.patch(`/Users/${user.id}`, [operation]);
    expect(reply.status).toBe(200);
    expect(await managerOf(user.id)).toBeUndefined();
    expect((await s.call('GET', `/Users/${user.id}`)).body[ENTERPRISE].department).toBe('Kept');
  });

  it('the three forms one after another, as Entra sends them over a user\'s life', async () => {
    const first = await s.createUser({ displayName: 'First Boss' });
    const second = await s.createUser({ displayName: 'Second Boss' });
    const user = await s.createUser();
    expect((await s.patch(`/Users/${user.id}`, [{ op: 'Add', path: 'manager', value: [{ $ref: `https://idp.example/Users/${first.id}`, value: first.id }] }])).status).toBe(200);
    expect(await managerOf(user.id)).toEqual({ value: first.id, displayName: 'First Boss' });
    expect((await s.patch(`/Users/${user.id}`, [{ op: 'Replace', path: urnPath, value: second.id }])).status).toBe(200);
    expect(await managerOf(user.id)).toEqual({ value: second.id, displayName: 'Second Boss' });
    expect((await s.patch(`/Users/${user.id}`, [{ op: 'Replace', path: urnPath, value: '' }])).status).toBe(200);
    expect(await managerOf(user.id)).toBeUndefined();
  });

  it('clears it with the short path "manager" and an empty value too', async () => {
    const boss = await s.createUser();
    const user = await s.createUser({ [ENTERPRISE]: { manager: { value: boss.id } } });
    const reply = await s.patch(`/Users/${user.id}`, [{ op: 'Replace', path: 'manager', value: [] }]);
    expect(reply.status).toBe(200);
    expect(await managerOf(user.id)).toBeUndefined();
  });
});
