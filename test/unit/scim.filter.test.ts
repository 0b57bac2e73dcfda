import { describe, expect, it } from 'vitest';
import { toScimFailure } from '../../src/scim/errors.ts';
import { parseFilter, scimFilter } from '../../src/scim/filter.ts';
import { scimFilterSql, type ScimAttribute, type ScimTable } from '../../src/store/scim-filter.ts';

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

/** Every attribute of the schemas served, with a value of its type (the paths a client may filter on). */
function everyAttribute(table: ScimTable): Array<{ path: string; attribute: ScimAttribute }> {
  const out: Array<{ path: string; attribute: ScimAttribute }> = [];
  const walk = (prefix: string, attribute: ScimAttribute) => {
    const path = `${prefix}${attribute.name}`;
    out.push({ path, attribute });
    for (const sub of attribute.subAttributes) walk(`${path}.`, sub);
  };
  for (const schema of scimFilter('id pr')!.attributes[table].schemas) {
    for (const attribute of schema.attributes) walk(schema.prefix === '' ? '' : `${schema.id}:`, attribute);
  }
  return out;
}

const SAMPLE: Record<ScimAttribute['type'], string> = {
  string: '"x"', reference: '"x"', binary: '"x"', complex: '"x"', boolean: 'true', dateTime: '"2020-01-01T00:00:00Z"', decimal: '1.5', integer: '1',
};

describe('SCIM filter attributes (derived from the SCIMMY schema definitions)', () => {
  const refusal = (text: string, table: ScimTable) => {
    try {
      scimFilterSql(scimFilter(text)!, table);
      return undefined;
    } catch (error) {
      return toScimFailure(error);
    }
  };

  it('describes every attribute of User, both extensions and Group', () => {
    const users = everyAttribute('users').map((a) => a.path);
    for (const path of ['nickName', 'name.middleName', 'addresses.locality', 'x509Certificates.value', 'groups.display', 'password',
      'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.displayName', 'urn:ietf:params:scim:schemas:extension:turnover:2.0:User:terminationDate']) {
      expect(users).toContain(path);
    }
    expect(everyAttribute('groups').map((a) => a.path)).toEqual(expect.arrayContaining(['displayName', 'members.value', 'members.type', 'meta.location']));
  });

  // A new attribute in a schema fails here until the store knows where it is kept.
  for (const table of ['users', 'groups'] as const) {
    it(`translates pr and a comparison of its type on every ${table} attribute but password`, () => {
      for (const { path, attribute } of everyAttribute(table)) {
        if (path === 'password') continue;
        expect(refusal(`${path} pr`, table), `${path} pr`).toBeUndefined();
        const complexWithoutValue = attribute.type === 'complex' && !attribute.subAttributes.some((s) => s.name === 'value');
        if (!complexWithoutValue) expect(refusal(`${path} eq ${SAMPLE[attribute.type]}`, table), `${path} eq`).toBeUndefined();
      }
    });
  }

  it('refuses password (returned: never) whatever the operator, and where a sub-attribute or type does not fit', () => {
    for (const text of ['password pr', 'password eq "x"', 'not (password sw "a")', 'userName pr or password pr', 'name eq "x"', 'meta gt "x"', 'title[value eq "x"]', 'emails[primary gt true]', 'name.nickName pr', 'addresses[planet eq "x"]']) {
      expect(refusal(text, 'users'), text).toMatchObject({ status: 400, scimType: 'invalidFilter' });
    }
    for (const text of ['userName eq "x"', 'members[foo eq "x"]', 'members.display gt true']) {
      expect(refusal(text, 'groups'), text).toMatchObject({ status: 400, scimType: 'invalidFilter' });
    }
  });

  it('refuses a NUL character in a value (PostgreSQL text cannot hold one)', () => {
    expect(() => parseFilter('nickName eq "a\\u0000b"')).toThrowError(expect.objectContaining({ status: 400, scimType: 'invalidFilter' }));
  });
});
