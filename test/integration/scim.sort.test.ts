import { beforeAll, describe, expect, it } from 'vitest';
import { CORE_GROUP, CORE_USER, ENTERPRISE, useScim } from './scim.helpers.ts';

/** RFC 7644 §3.4.2.3 sortBy / sortOrder on Users and Groups, each order read across two pages. */
describe('SCIM sorting', () => {
  const s = useScim('scim_sort');
  const ids: Record<string, string> = {};
  const letters = (resources: Array<{ id: string }>) => resources.map((r) => Object.keys(ids).find((k) => ids[k] === r.id) ?? '?').join('');

  /** Every resource in the order asked, read as two pages of 3 (no overlap, no gap). */
  const walk = async (resource: 'Users' | 'Groups', params: string): Promise<string> => {
    const first = await s.call('GET', `/${resource}?${params}&startIndex=1&count=3`);
    expect(first.status, JSON.stringify(first.body)).toBe(200);
    const second = await s.call('GET', `/${resource}?${params}&startIndex=4&count=3`);
    expect(second.status).toBe(200);
    expect(first.body.Resources).toHaveLength(3);
    expect(second.body.totalResults).toBe(first.body.totalResults);
    return letters([...first.body.Resources, ...second.body.Resources]);
  };

  beforeAll(async () => {
    const post = async (key: string, body: Record<string, unknown>) => {
      const reply = await s.call('POST', '/Users', { schemas: [CORE_USER, ENTERPRISE], ...body });
      if (reply.status !== 201) throw new Error(JSON.stringify(reply.body));
      ids[key] = reply.body.id;
    };
    // Created in the order A..E, so meta.created ascends A..E; userName ascends (ignoring case) B D A E C.
    await post('A', { userName: 'charlie@x.org', name: { givenName: 'C', familyName: 'Smith' }, title: 'b', [ENTERPRISE]: { employeeNumber: '20', department: 'Eng' } });
    await post('B', { userName: 'Alpha@x.org', name: { givenName: 'A', familyName: 'jones' }, title: 'B', [ENTERPRISE]: { employeeNumber: '100' } });
    await post('C', { userName: 'Echo@x.org', name: { givenName: 'E', familyName: 'Brown' }, [ENTERPRISE]: { employeeNumber: '3', department: 'Sales' } });
    await post('D', { userName: 'bravo@x.org', name: { givenName: 'B' }, title: 'a', [ENTERPRISE]: { department: 'eng' } });
    await post('E', { userName: 'delta@x.org', name: { givenName: 'D', familyName: 'Adams' }, title: 'b' });
    // B modified last: meta.lastModified ascends A C D E B.
    expect((await s.patch(`/Users/${ids.B}`, [{ op: 'replace', path: 'displayName', value: 'Alpha' }])).status).toBe(200);
    for (const [key, displayName] of [['G1', 'sales'], ['G2', 'Admins'], ['G3', 'engineering'], ['G4', 'Board']]) {
      const reply = await s.call('POST', '/Groups', { schemas: [CORE_GROUP], displayName });
      if (reply.status !== 201) throw new Error(JSON.stringify(reply.body));
      ids[key!] = reply.body.id;
    }
  });

  it('sorts a string case-insensitively, ascending by default and descending', async () => {
    expect(await walk('Users', 'sortBy=userName')).toBe('BDAEC');
    expect(await walk('Users', 'sortBy=userName&sortOrder=ascending')).toBe('BDAEC');
    expect(await walk('Users', 'sortBy=userName&sortOrder=descending')).toBe('CEADB');
  });

  it('sorts on a sub-attribute, a missing value last ascending and first descending', async () => {
    expect(await walk('Users', 'sortBy=name.familyName')).toBe('ECBAD');
    expect(await walk('Users', 'sortBy=name.familyName&sortOrder=descending')).toBe('DABCE');
  });

  it('breaks ties on id, so equal values never make pages overlap', async () => {
    // title: a (D), b (A, E), B (B; equal to b ignoring case), none (C).
    const ascending = await walk('Users', 'sortBy=title');
    expect(ascending[0]).toBe('D');
    expect(ascending.slice(1, 4).split('').sort().join('')).toBe('ABE');
    expect(ascending[4]).toBe('C');
    expect(await walk('Users', 'sortBy=title&sortOrder=descending')).toBe([...ascending].reverse().join(''));
  });

  it('sorts on dateTimes', async () => {
    expect(await walk('Users', 'sortBy=meta.created')).toBe('ABCDE');
    expect(await walk('Users', 'sortBy=meta.created&sortOrder=descending')).toBe('EDCBA');
    expect(await walk('Users', 'sortBy=meta.lastModified')).toBe('ACDEB');
  });

  it('sorts on enterprise attributes by their full name (strings: "100" < "20" < "3")', async () => {
    expect(await walk('Users', `sortBy=${ENTERPRISE}:employeeNumber`)).toBe('BACDE'.replace('DE', ids.D! < ids.E! ? 'DE' : 'ED'));
    expect((await walk('Users', `sortBy=${ENTERPRISE}:department`)).slice(0, 3)).toBe(ids.A! < ids.D! ? 'ADC' : 'DAC');
  });

  it('sorts within a filter', async () => {
    const reply = await s.call('GET', `/Users?filter=${encodeURIComponent('title pr')}&sortBy=userName&sortOrder=descending`);
    expect(letters(reply.body.Resources)).toBe('EADB');
    expect(reply.body.totalResults).toBe(4);
  });

  it('sorts Groups on displayName', async () => {
    const first = await s.call('GET', '/Groups?sortBy=displayName&count=2');
    const second = await s.call('GET', '/Groups?sortBy=displayName&startIndex=3&count=2');
    expect(letters([...first.body.Resources, ...second.body.Resources])).toBe('G2G4G3G1');
    const descending = await s.call('GET', '/Groups?sortBy=displayName&sortOrder=descending&count=2');
    expect(descending.body.Resources.map((g: { displayName: string }) => g.displayName)).toEqual(['sales', 'engineering']);
  });

  it('takes sortBy and sortOrder in a POST .search body', async () => {
    const reply = await s.call('POST', '/Users/.search', { schemas: ['urn:ietf:params:scim:api:messages:2.0:SearchRequest'], sortBy: 'userName', sortOrder: 'descending', startIndex: 1, count: 2 });
    expect(reply.status).toBe(200);
    expect(letters(reply.body.Resources)).toBe('CE');
    expect(reply.body.totalResults).toBe(5);
  });

  it('sorts on a multi-valued attribute by its primary value, else its first (RFC 7644 §3.4.2.3)', async () => {
    const [x, y, z] = await Promise.all(
      [
        [{ value: 'b@mail.org', primary: false }, { value: 'z@mail.org', primary: true }],
        [{ value: 'y@mail.org' }, { value: 'a@mail.org' }],
        [{ value: 'M@mail.org', type: 'work' }],
      ].map((emails) => s.createUser({ emails })),
    );
    const reply = await s.call('GET', `/Users?filter=${encodeURIComponent('emails pr')}&sortBy=emails`);
    expect(reply.body.Resources.map((r: { id: string }) => r.id)).toEqual([z.id, y.id, x.id]);
    const byValue = await s.call('GET', `/Users?filter=${encodeURIComponent('emails pr')}&sortBy=emails.value&sortOrder=descending`);
    expect(byValue.body.Resources.map((r: { id: string }) => r.id)).toEqual([x.id, y.id, z.id]);
    for (const u of [x, y, z]) expect((await s.call('DELETE', `/Users/${u.id}`)).status).toBe(204);
  });

  it('refuses an unknown sortBy, group members, and a sortOrder other than the two, with 400 invalidValue', async () => {
    for (const path of ['/Users?sortBy=shoeSize', '/Users?sortBy=name', '/Users?sortBy=emails.primary', '/Users?sortBy=name.', '/Users?sortBy=userName&sortOrder=sideways', '/Groups?sortBy=members']) {
      const reply = await s.call('GET', path);
      expect(reply.status, path).toBe(400);
      expect(reply.body.scimType, path).toBe('invalidValue');
    }
    const search = await s.call('POST', '/Users/.search', { sortBy: 'phoneNumbers.nope' });
    expect(search.status).toBe(400);
    expect(search.body.scimType).toBe('invalidValue');
  });

  it('advertises sort in /ServiceProviderConfig', async () => {
    const reply = await s.call('GET', '/ServiceProviderConfig');
    expect(reply.body.sort).toEqual({ supported: true });
  });
});
