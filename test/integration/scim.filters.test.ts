import { beforeAll, describe, expect, it } from 'vitest';
import { CORE_USER, ENTERPRISE, useScim } from './scim.helpers.ts';

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
