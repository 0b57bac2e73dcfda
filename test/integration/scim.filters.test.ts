import { beforeAll, describe, expect, it } from 'vitest';
import { scimFilter } from '../../src/scim/filter.ts';
import type { ScimAttribute } from '../../src/store/scim-filter.ts';
import { CORE_GROUP, CORE_USER, ENTERPRISE, TURNOVER, useScim } from './scim.helpers.ts';

/** Four users with known attributes; every filter's answer is checked as a set of them. */
describe('SCIM filters in SQL, and paging', () => {
  const s = useScim('scim_filters');
  const ids: Record<'A' | 'B' | 'C' | 'D', string> = { A: '', B: '', C: '', D: '' };
  const names = (resources: Array<{ id: string }>) =>
    resources.map((r) => (Object.keys(ids) as Array<keyof typeof ids>).find((k) => ids[k] === r.id) ?? r.id).sort().join('');
  const list = async (filter: string, extra = '') => s.call('GET', `/Users?filter=${encodeURIComponent(filter)}${extra}`);

  beforeAll(async () => {
    const post = async (body: Record<string, unknown>) => {
      const reply = await s.call('POST', '/Users', { schemas: [CORE_USER, ENTERPRISE], ...body });
      if (reply.status !== 201) throw new Error(JSON.stringify(reply.body));
      return reply.body.id as string;
    };
    ids.A = await post({
      userName: 'alice@x.org', externalId: 'EXT-A', title: 'Engineer', name: { givenName: 'Alice', familyName: 'Smith' },
      emails: [{ type: 'work', value: 'alice@x.org', primary: true }, { type: 'home', value: 'alice@home.org' }],
      [ENTERPRISE]: { department: 'Eng', employeeNumber: '100' },
    });
    ids.B = await post({
      userName: 'bob@x.org', externalId: 'EXT-B', active: false, name: { givenName: 'Bob', familyName: 'Jones' },
      emails: [{ type: 'work', value: 'bob@x.org' }], [ENTERPRISE]: { department: 'Sales', employeeNumber: '200', manager: { value: ids.A } },
    });
    ids.C = await post({ userName: 'carol@y.org', title: 'Manager', name: { givenName: 'Carol', familyName: 'Smith' }, [ENTERPRISE]: { department: 'Eng', employeeNumber: '300' } });
    ids.D = await post({ userName: 'dave_@y.org', title: '100%_done', name: { givenName: 'Dave', familyName: 'Brown' } });
  });

  const CASES: Array<[string, string | (() => string), string]> = [
    ['eq, case-insensitive userName', 'userName eq "ALICE@x.org"', 'A'],
    ['ne', 'userName ne "alice@x.org"', 'BCD'],
    ['co', 'userName co "@Y.ORG"', 'CD'],
    ['sw', 'userName sw "b"', 'B'],
    ['ew', 'userName ew "x.org"', 'AB'],
    ['co with LIKE wildcards taken literally', 'title co "%_"', 'D'],
    ['sw with an underscore taken literally', 'userName sw "dave_"', 'D'],
    ['gt', 'name.givenName gt "B"', 'BCD'],
    ['ge', 'name.givenName ge "bob"', 'BCD'],
    ['lt', 'name.givenName lt "bob"', 'A'],
    ['le', 'name.givenName le "bob"', 'AB'],
    ['pr', 'title pr', 'ACD'],
    ['ne matches a missing value', 'title ne "Engineer"', 'BCD'],
    ['familyName', 'name.familyName eq "smith"', 'AC'],
    ['emails.value on any entry', 'emails.value eq "alice@home.org"', 'A'],
    ['value path with a sub-attribute', 'emails[type eq "work"].value co "bob"', 'B'],
    ['value path alone', 'emails[type eq "home"]', 'A'],
    ['value path with and inside', 'emails[type eq "work" and value sw "alice"]', 'A'],
    ['multi-valued pr', 'emails pr', 'AB'],
    ['active false', 'active eq false', 'B'],
    ['active true', 'active eq true', 'ACD'],
    ['not', 'not (active eq true)', 'B'],
    ['not over an or group (De Morgan)', 'not (userName sw "a" or userName sw "b")', 'CD'],
    ['and binds tighter than or', 'userName sw "a" or userName sw "b" and title pr', 'A'],
    ['grouping', '(title eq "Engineer" or title eq "Manager") and name.familyName eq "Smith"', 'AC'],
    ['meta.created', 'meta.created gt "2000-01-01T00:00:00Z"', 'ABCD'],
    ['meta.lastModified', 'meta.lastModified lt "2000-01-01T00:00:00Z"', ''],
    ['enterprise department by URN', `${ENTERPRISE}:department eq "eng"`, 'AC'],
    ['enterprise employeeNumber', `${ENTERPRISE}:employeeNumber ge "200"`, 'BC'],
    ['manager.value', () => `${ENTERPRISE}:manager.value eq "${ids.A}"`, 'B'],
    ['externalId is case-exact', 'externalId eq "ext-a"', ''],
    ['externalId unquoted', 'externalId eq EXT-A', 'A'],
    ['id', () => `id eq "${ids.C}"`, 'C'],
    ['id that is not a UUID', 'id eq "nope"', ''],
    ['displayName', 'displayName pr', ''],
  ];

  for (const [label, filter, expected] of CASES) {
    it(`${label}: ${typeof filter === 'string' ? filter : '(by id)'}`, async () => {
      const reply = await list(typeof filter === 'string' ? filter : filter());
      expect(reply.status).toBe(200);
      expect(names(reply.body.Resources)).toBe(expected);
      expect(reply.body.totalResults).toBe(expected.length);
    });
  }

  for (const bad of ['userName eq', 'userName xx "a"', 'favouriteColour eq "blue"', 'userName eq "a" or', '(userName eq "a"', 'emails[type eq "work"', 'active eq "maybe"', 'meta.created gt "yesterday"', 'userName co "a"]', 'emails[type eq "work"][value eq "x"]', 'active co true']) {
    it(`answers 400 invalidFilter for: ${bad}`, async () => {
      const reply = await list(bad);
      expect(reply.status).toBe(400);
      expect(reply.contentType).toMatch(/^application\/scim\+json/);
      expect(reply.body).toMatchObject({ status: '400', scimType: 'invalidFilter' });
    });
  }

  it('pages in a stable order with an exact total', async () => {
    const page = async (startIndex: number, count: number) => (await list('userName pr', `&startIndex=${startIndex}&count=${count}`)).body;
    const first = await page(1, 2);
    const second = await page(3, 2);
    expect([first.totalResults, first.itemsPerPage, first.startIndex, second.itemsPerPage, second.startIndex]).toEqual([4, 2, 1, 2, 3]);
    expect(names([...first.Resources, ...second.Resources])).toBe('ABCD');
    expect(await page(4, 2)).toMatchObject({ totalResults: 4, itemsPerPage: 1 });
    expect(await page(10, 2)).toMatchObject({ totalResults: 4, itemsPerPage: 0, Resources: [] });
    expect(await page(1, 0)).toMatchObject({ totalResults: 4, itemsPerPage: 0, Resources: [] });
    expect(await page(0, 1000)).toMatchObject({ totalResults: 4, itemsPerPage: 4, startIndex: 1 });
    expect(await page(1, -5)).toMatchObject({ totalResults: 4, itemsPerPage: 0 });
  });

  it('caps count at the advertised maxResults', async () => {
    const config = (await s.call('GET', '/ServiceProviderConfig')).body;
    expect(config.filter).toEqual({ supported: true, maxResults: 200 });
    const em = s.t.runtime.orm.em.fork();
    await em.getConnection().execute(
      `insert into users (id, tenant_id, user_name, status, status_changed_at) select gen_random_uuid(), ?, 'bulk' || g || '@z.org', 'active', now() from generate_series(1, 210) g`,
      [s.t.tenantId],
    );
    const reply = await list('userName ew "@z.org"', '&count=500');
    expect(reply.body).toMatchObject({ totalResults: 210, itemsPerPage: 200 });
    expect(reply.body.Resources).toHaveLength(200);
  });

  it('refuses non-integer paging parameters (400 invalidValue)', async () => {
    const reply = await s.call('GET', '/Users?startIndex=abc');
    expect(reply).toMatchObject({ status: 400, body: { scimType: 'invalidValue' } });
  });

  it('POST /Users/.search takes the same query in the body', async () => {
    const reply = await s.call('POST', '/Users/.search', {
      schemas: ['urn:ietf:params:scim:api:messages:2.0:SearchRequest'],
      filter: 'name.familyName eq "Smith"',
      attributes: ['userName'],
      startIndex: 1,
      count: 10,
    });
    expect(reply.status).toBe(200);
    expect(names(reply.body.Resources)).toBe('AC');
    expect(reply.body.Resources[0]).not.toHaveProperty('name');
  });
});

/**
 * Every attribute of every schema served is filterable: the core attributes kept in scim_extra, sub-attributes,
 * value filters whose conditions hold for the same value, groups and members; and the refusals.
 */
describe('SCIM filters on every attribute', () => {
  const s = useScim('scim_filters_all');
  const ids: Record<'P' | 'Q' | 'R' | 'S' | 'G1' | 'G2' | 'G3', string> = { P: '', Q: '', R: '', S: '', G1: '', G2: '', G3: '' };
  const names = (resources: Array<{ id: string }>) =>
    resources.map((r) => (Object.keys(ids) as Array<keyof typeof ids>).find((k) => ids[k] === r.id) ?? r.id).sort().join(' ');
  const list = async (resource: 'Users' | 'Groups', filter: string) => s.call('GET', `/${resource}?filter=${encodeURIComponent(filter)}`);

  beforeAll(async () => {
    const post = async (resource: 'Users' | 'Groups', body: Record<string, unknown>) => {
      const reply = await s.call('POST', `/${resource}`, body);
      if (reply.status !== 201) throw new Error(JSON.stringify(reply.body));
      return reply.body.id as string;
    };
    const user = (body: Record<string, unknown>) => post('Users', { schemas: [CORE_USER, ENTERPRISE, TURNOVER], ...body });
    ids.Q = await user({
      userName: 'q@example.org', title: 'CTO', userType: 'Employee', locale: 'fr-FR', displayName: 'Quinn Adams',
      name: { givenName: 'Quinn', familyName: 'Adams', formatted: 'Quinn Adams' },
      emails: [{ type: 'work', value: 'q@example.org' }],
      phoneNumbers: [{ type: 'mobile', value: '+33 6 00', primary: true }],
      addresses: [{ type: 'work', country: 'FR', locality: 'Lyon' }],
      entitlements: [{ value: 'vpn' }],
      [ENTERPRISE]: { employeeNumber: '7' },
    });
    // P: each condition of the value filters below holds, but never for the same value.
    ids.P = await user({
      userName: 'p@other.com', nickName: 'Pip', displayName: 'Pip Xavier', password: 'Correct-horse-9',
      name: { givenName: 'Anna', familyName: 'Xavier', middleName: 'Q', formatted: 'Anna Q Xavier' },
      emails: [{ type: 'work', value: 'p@other.com' }, { type: 'home', value: 'p@example.org' }],
      phoneNumbers: [{ type: 'mobile', value: '+33 6 01', primary: false }, { type: 'work', value: '+33 1 02', primary: true }],
      addresses: [{ type: 'home', country: 'FR', locality: 'Paris' }, { type: 'work', country: 'DE', locality: 'Berlin' }],
      [ENTERPRISE]: { manager: { value: ids.Q } },
      [TURNOVER]: { role: 'admin' },
    });
    ids.R = await post('Users', { schemas: [CORE_USER], userName: 'r@example.org' });
    ids.S = await post('Users', { schemas: [CORE_USER], userName: 's@example.org' });
    const group = (displayName: string, members: string[], extra = {}) =>
      post('Groups', { schemas: [CORE_GROUP], displayName, members: members.map((value) => ({ value })), ...extra });
    ids.G1 = await group('Engineering', [ids.P, ids.Q], { externalId: 'g-1' });
    ids.G2 = await group('Sales', [ids.S]);
    ids.G3 = await group('Ops', [ids.R]);
    // A user the IdP deleted is no member a filter can see (as no group lists it).
    expect((await s.call('DELETE', `/Users/${ids.S}`)).status).toBe(204);
  });

  const USER_CASES: Array<[string | (() => string), string]> = [
    ['nickName pr', 'P'],
    ['title pr', 'Q'],
    ['addresses pr', 'P Q'],
    ['not (addresses pr)', 'R'],
    ['name pr', 'P Q'],
    ['name.middleName pr', 'P'],
    ['name.familyName co "avi"', 'P'],
    ['name.formatted sw "A"', 'P'],
    ['name[givenName eq "quinn" and familyName eq "ADAMS"]', 'Q'],
    ['nickName gt "A"', 'P'],
    ['userType eq "employee"', 'Q'],
    ['locale sw "fr"', 'Q'],
    ['addresses.locality eq "Paris"', 'P'],
    ['addresses[type eq "work" and country eq "FR"]', 'Q'],
    ['addresses[type eq "work"].locality eq "Berlin"', 'P'],
    ['emails[type eq "work" and value co "@example.org"]', 'Q'],
    ['emails.value co "@example.org"', 'P Q'],
    ['phoneNumbers[type eq "mobile" and primary eq true]', 'Q'],
    ['phoneNumbers.primary eq true', 'P Q'],
    ['entitlements eq "vpn"', 'Q'],
    ['x509Certificates pr', ''],
    ['groups.display eq "engineering"', 'P Q'],
    [() => `groups[value eq "${ids.G3}"]`, 'R'],
    [() => `${ENTERPRISE}:manager.value eq "${ids.Q}"`, 'P'],
    [() => `${ENTERPRISE}:manager eq "${ids.Q}"`, 'P'],
    [`${ENTERPRISE}:manager.displayName eq "Quinn Adams"`, 'P'],
    [`${ENTERPRISE}:manager pr`, 'P'],
    [`${TURNOVER}:role eq "admin"`, 'P'],
    [`${TURNOVER}:status pr and ${TURNOVER}:terminationDate pr`, ''],
    [`schemas eq "${ENTERPRISE}"`, 'P Q'],
    ['meta.resourceType eq "User"', 'P Q R'],
    [() => `meta.location ew "/Users/${ids.Q}"`, 'Q'],
    ['meta.version sw "W/"', 'P Q R'],
    ['active eq true and nickName pr', 'P'],
  ];
  for (const [filter, expected] of USER_CASES) {
    it(`Users: ${typeof filter === 'string' ? filter : filter.toString().replace(/^\(\) => /, '')}`, async () => {
      const reply = await list('Users', typeof filter === 'string' ? filter : filter());
      expect(reply.status, JSON.stringify(reply.body)).toBe(200);
      expect(names(reply.body.Resources)).toBe(expected);
    });
  }

  const GROUP_CASES: Array<[string | (() => string), string]> = [
    ['members pr', 'G1 G3'],
    ['not (members pr)', 'G2'],
    [() => `members[value eq "${ids.P}"]`, 'G1'],
    [() => `members eq "${ids.R}"`, 'G3'],
    [() => `members.value eq "${ids.S}"`, ''],
    ['members.display sw "pip"', 'G1'],
    ['members[type eq "User" and display co "adams"]', 'G1'],
    ['externalId pr', 'G1'],
    ['displayName gt "F"', 'G2 G3'],
    ['meta.resourceType eq "Group" and meta.lastModified pr', 'G1 G2 G3'],
  ];
  for (const [filter, expected] of GROUP_CASES) {
    it(`Groups: ${typeof filter === 'string' ? filter : filter.toString().replace(/^\(\) => /, '')}`, async () => {
      const reply = await list('Groups', typeof filter === 'string' ? filter : filter());
      expect(reply.status, JSON.stringify(reply.body)).toBe(200);
      expect(names(reply.body.Resources)).toBe(expected);
    });
  }

  // Every attribute the schemas describe, against PostgreSQL: a 200 (never a 500) for pr and eq.
  it('answers pr and eq on every attribute of both resources but password', async () => {
    const sample = { string: '"x"', reference: '"x"', binary: '"x"', complex: '"x"', boolean: 'true', dateTime: '"2020-01-01T00:00:00Z"', decimal: '1', integer: '1' };
    const failures: string[] = [];
    for (const [table, resource] of [['users', 'Users'], ['groups', 'Groups']] as const) {
      const walk = async (path: string, attribute: ScimAttribute): Promise<void> => {
        if (attribute.neverReturned) return;
        const compare = attribute.type !== 'complex' || attribute.subAttributes.some((a) => a.name === 'value');
        for (const filter of [`${path} pr`, ...(compare ? [`${path} eq ${sample[attribute.type]}`] : [])]) {
          const reply = await list(resource, filter);
          if (reply.status !== 200) failures.push(`${resource} ${filter}: ${reply.status} ${reply.body?.detail}`);
        }
        for (const sub of attribute.subAttributes) await walk(`${path}.${sub.name}`, sub);
      };
      for (const schema of scimFilter('id pr')!.attributes[table].schemas) {
        for (const attribute of schema.attributes) await walk(`${schema.prefix === '' ? '' : `${schema.id}:`}${attribute.name}`, attribute);
      }
    }
    expect(failures).toEqual([]);
  });

  it('a value with SQL in it is only a value', async () => {
    const reply = await list('Users', `nickName eq "x' or '1'='1" or addresses[country eq "'); drop table users; --"]`);
    expect(reply.status).toBe(200);
    expect(reply.body.totalResults).toBe(0);
    expect((await list('Users', 'nickName pr')).body.totalResults).toBe(1);
  });

  const REFUSED: Array<['Users' | 'Groups', string]> = [
    ['Users', 'password pr'],
    ['Users', 'password eq "Correct-horse-9"'],
    ['Users', 'password sw "C" or userName pr'],
    ['Users', 'favouriteColour pr'],
    ['Users', 'name.nickName pr'],
    ['Users', 'emails[foo eq "x"]'],
    ['Users', 'addresses.planet eq "Mars"'],
    ['Users', 'name eq "Anna"'],
    ['Users', 'addresses eq "Paris"'],
    ['Users', 'title[value eq "x"]'],
    ['Users', 'phoneNumbers[primary gt true]'],
    ['Users', 'emails.primary co "t"'],
    ['Users', 'meta.created co "2020"'],
    ['Users', `urn:ietf:params:scim:schemas:extension:other:2.0:User:department pr`],
    ['Users', 'nickName eq "\\u0000"'],
    ['Users', `${'('.repeat(50)}nickName pr${')'.repeat(50)}`],
    ['Users', `nickName eq "${'x'.repeat(5000)}"`],
    ['Users', 'addresses[type eq "work"]]'],
    ['Groups', 'userName eq "p@other.com"'],
    ['Groups', 'members.foo eq "x"'],
  ];
  for (const [resource, filter] of REFUSED) {
    it(`${resource}: 400 invalidFilter for ${filter.slice(0, 60)}`, async () => {
      const reply = await list(resource, filter);
      expect(reply.status, JSON.stringify(reply.body)).toBe(400);
      expect(reply.body).toMatchObject({ status: '400', scimType: 'invalidFilter' });
    });
  }
});
