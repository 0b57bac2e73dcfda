import { describe, expect, it } from 'vitest';
import { toScimFailure } from '../../src/scim/errors.ts';
import { parseFilter, scimFilter } from '../../src/scim/filter.ts';
import { scimFilterSql } from '../../src/store/scim-filter.ts';

/** The parser's tree (the SQL the store makes of it is checked against PostgreSQL in scim.filters.test.ts). */
describe('SCIM filter parser', () => {
  it('gives and precedence over or, and applies not to a whole group', () => {
    expect(parseFilter('a eq 1 or b eq 2 and c pr')).toEqual({
      kind: 'or',
      left: { kind: 'compare', path: 'a', op: 'eq', value: 1, raw: '1' },
      right: { kind: 'and', left: { kind: 'compare', path: 'b', op: 'eq', value: 2, raw: '2' }, right: { kind: 'present', path: 'c' } },
    });
    expect(parseFilter('not (a eq "x" or b eq "y")')).toEqual({
      kind: 'not',
      node: { kind: 'or', left: { kind: 'compare', path: 'a', op: 'eq', value: 'x' }, right: { kind: 'compare', path: 'b', op: 'eq', value: 'y' } },
    });
  });

  it('reads value paths with and without a sub-attribute, and URN paths', () => {
    expect(parseFilter('emails[type eq "work"].value eq "a@b"')).toEqual({
      kind: 'valuePath',
      path: 'emails',
      filter: { kind: 'and', left: { kind: 'compare', path: 'type', op: 'eq', value: 'work' }, right: { kind: 'compare', path: 'value', op: 'eq', value: 'a@b' } },
    });
    expect(parseFilter('urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "m"')).toMatchObject({
      path: 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value',
    });
  });

  it('reads escaped strings, unquoted values (Entra externalId), booleans and null; operators in any case', () => {
    expect(parseFilter('userName EQ "a\\"b"')).toMatchObject({ op: 'eq', value: 'a"b' });
    expect(parseFilter('externalId eq 5d2e-77')).toMatchObject({ value: '5d2e-77', raw: '5d2e-77' });
    expect(parseFilter('externalId eq 0042')).toMatchObject({ value: 42, raw: '0042' });
    expect(parseFilter('active eq False')).toMatchObject({ value: false });
    expect(parseFilter('title eq null')).toMatchObject({ value: null });
  });

  it.each(['', 'userName', 'userName eq', 'userName xx "a"', 'a eq "x" or', 'a eq "x" and', '(a eq "x"', 'a eq "x")', 'a[b eq "x"', 'a[b[c eq 1]]', 'a eq "unterminated', 'not', `${'('.repeat(40)}a pr${')'.repeat(40)}`])(
    'refuses %j with 400 invalidFilter',
    (text) => {
      expect(() => parseFilter(text)).toThrowError(expect.objectContaining({ status: 400, scimType: 'invalidFilter' }));
    },
  );

  it('refuses attributes and comparisons the store cannot translate, answered 400 invalidFilter', () => {
    for (const text of ['favouriteColour eq "x"', 'active gt true', 'meta.created co "2020"', 'meta.created gt "soon"', 'userName eq true', 'title gt null']) {
      let refused: unknown;
      try {
        scimFilterSql(scimFilter(text)!, 'users');
      } catch (error) {
        refused = error;
      }
      expect(refused, text).toBeDefined();
      expect(toScimFailure(refused), text).toMatchObject({ status: 400, scimType: 'invalidFilter' });
    }
  });
});
