import { describe, expect, it } from 'vitest';
import { checkIfMatch, etagMatches, userEtag } from '../../src/scim/etag.ts';
import type { ScimContext } from '../../src/scim/context.ts';

describe('SCIM entity-tags', () => {
  const tag = 'W/"3-0123456789abcdef"';

  it('matches `*`, the tag itself, its strong form and a list holding it (weak comparison, RFC 7232 §2.3.2)', () => {
    for (const header of ['*', tag, '"3-0123456789abcdef"', `W/"1-aaaa", ${tag}`, `"x",${tag} , W/"y"`]) expect({ header, matches: etagMatches(header, tag) }).toEqual({ header, matches: true });
    for (const header of ['', 'W/"3"', 'W/"3-0123456789abcdeF"', '3-0123456789abcdef', 'W/"1-aaaa", W/"2-bbbb"', '*, W/"x"']) {
      expect({ header, matches: etagMatches(header, tag) }).toEqual({ header, matches: false });
    }
  });

  it('a User tag moves with the version and with anything in the representation, and only then', () => {
    const user = { id: 'u', userName: 'ada', groups: [{ value: 'g', display: 'Sales' }] };
    expect(userEtag(3, user)).toMatch(/^W\/"3-[0-9a-f]{16}"$/);
    expect(userEtag(3, structuredClone(user))).toBe(userEtag(3, user));
    expect(userEtag(4, user)).not.toBe(userEtag(3, user));
    expect(userEtag(3, { ...user, groups: [{ value: 'g', display: 'Sales EMEA' }] })).not.toBe(userEtag(3, user));
  });

  it('If-Match: no precondition or a matching one passes; a stale one is 412 naming the current tag', () => {
    const ctx = (ifMatch?: string) => ({ ...(ifMatch === undefined ? {} : { ifMatch }) }) as ScimContext;
    expect(() => checkIfMatch(ctx(), 'User u', tag)).not.toThrow();
    expect(() => checkIfMatch(ctx('*'), 'User u', tag)).not.toThrow();
    expect(() => checkIfMatch(ctx(tag), 'User u', tag)).not.toThrow();
    expect(() => checkIfMatch(ctx('W/"2-0123456789abcdef"'), 'User u', tag)).toThrow(expect.objectContaining({ status: 412, message: expect.stringContaining(tag) }));
  });
});
