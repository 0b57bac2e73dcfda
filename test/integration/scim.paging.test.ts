import { describe, expect, it } from 'vitest';
import { useScim } from './scim.helpers.ts';

/**
 * An IdP's import walks every user page by page (startIndex=1, 1+count, …) while the HR system
 * keeps creating and deleting users. src/scim/paging.ts promises that every user present for the
 * whole walk is returned exactly once and none twice; by position alone (OFFSET) a deletion
 * before the position skips a user and a creation before it repeats one.
 */
describe('SCIM paging while users come and go', () => {
  const s = useScim('scim_paging');
  const COUNT = 4;

  /** Pages through /Users until startIndex passes totalResults, as a client may; `between` runs after each page. */
  const walkAll = async (params: string, between: (page: string[]) => Promise<void>) => {
    const seen: string[] = [];
    for (let startIndex = 1, total = Infinity; startIndex <= total; startIndex += COUNT) {
      const reply = await s.call('GET', `/Users?${params}startIndex=${startIndex}&count=${COUNT}`);
      expect(reply.status).toBe(200);
      total = reply.body.totalResults;
      const page = reply.body.Resources.map((r: { id: string }) => r.id) as string[];
      expect(startIndex - 1 + page.length).toBeLessThanOrEqual(total);
      if (!page.length) break;
      seen.push(...page);
      await between(page);
    }
    return seen;
  };

  const check = (seen: string[], stable: string[]) => {
    const counts = new Map<string, number>();
    for (const id of seen) counts.set(id, (counts.get(id) ?? 0) + 1);
    expect([...counts.values()].filter((n) => n > 1), 'seen twice').toEqual([]);
    expect(stable.filter((id) => !counts.has(id)), 'missed').toEqual([]);
  };

  it('returns every user present throughout exactly once, in id order, while users are created and deleted', async () => {
    const users = await Promise.all(Array.from({ length: 24 }, (_, i) => s.createUser({ userName: `walk.${i}@example.org` })));
    const ids = users.map((u) => u.id as string);
    const doomed = new Set<string>();
    const seen = await walkAll('', async (page) => {
      // Delete a user just returned (OFFSET would then skip one) and one not reached yet, and create one.
      const returned = page.find((id) => !doomed.has(id) && ids.includes(id))!;
      const ahead = ids.find((id) => !doomed.has(id) && id !== returned && !page.includes(id) && ids.indexOf(id) % 3 === 0);
      for (const id of [returned, ahead]) {
        if (!id) continue;
        doomed.add(id);
        expect((await s.call('DELETE', `/Users/${id}`)).status).toBe(204);
      }
      await s.createUser();
    });
    check(seen, ids.filter((id) => !doomed.has(id)));
  });

  it('keeps that promise under a sortBy: a user created before the position is not a repeat', async () => {
    const users = await Promise.all(Array.from({ length: 12 }, (_, i) => s.createUser({ userName: `sorted.${String(i).padStart(2, '0')}@example.org` })));
    const ids = users.map((u) => u.id as string);
    let n = 0;
    // Each new userName sorts before every one the walk has returned (OFFSET would repeat one).
    const seen = await walkAll(`filter=${encodeURIComponent('userName sw "sorted."')}&sortBy=userName&`, async () => {
      await s.createUser({ userName: `sorted.0${n++}-early@example.org` });
    });
    check(seen, ids);
    const names = (await s.call('GET', `/Users?filter=${encodeURIComponent('userName sw "sorted."')}&count=200`)).body.Resources.length;
    expect(names).toBe(12 + n);
  });

  it('answers a startIndex that continues no walk by position', async () => {
    const all = (await s.call('GET', '/Users?count=200')).body;
    const ids = all.Resources.map((r: { id: string }) => r.id);
    const reply = await s.call('GET', '/Users?startIndex=3&count=2');
    expect(reply.body.Resources.map((r: { id: string }) => r.id)).toEqual(ids.slice(2, 4));
    expect(reply.body.totalResults).toBe(all.totalResults);
    expect(reply.body.startIndex).toBe(3);
  });
});
