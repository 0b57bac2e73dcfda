import { describe, expect, it } from 'vitest';
import { attributesWithoutValueFilters, normalisePatchBody, normalisePatchForResource, normaliseResourceBody } from '../../src/scim/normalise.ts';

const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
const PATCH = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
const ops = (body: unknown) => (body as { Operations: unknown[] }).Operations;
const patch = (Operations: unknown[], id = 'u1') => ops(normalisePatchBody({ schemas: [PATCH], Operations }, id));

/** One test per rule, named after the client that sends the form. */
describe('SCIM normalisation of client quirks', () => {
  it('Entra ID: "active": "False" / "True" as strings in POST and PUT bodies', () => {
    expect(normaliseResourceBody({ userName: 'a', active: 'False' })).toEqual({ userName: 'a', active: false });
    expect(normaliseResourceBody({ userName: 'a', active: 'True' })).toEqual({ userName: 'a', active: true });
    expect(normaliseResourceBody({ userName: 'a', active: 'maybe' })).toEqual({ userName: 'a', active: 'maybe' }); // left for SCIMMY's 400
  });

  it('Entra ID: "primary": "True" as a string in multi-valued entries', () => {
    expect(normaliseResourceBody({ emails: [{ value: 'a@b', primary: 'True' }] })).toEqual({ emails: [{ value: 'a@b', primary: true }] });
  });

  it('Entra ID: nulls for attributes without a value are absent (RFC 7643 §2.5)', () => {
    expect(normaliseResourceBody({ userName: 'a', title: null, name: { givenName: 'A', familyName: null }, emails: [null] })).toEqual({ userName: 'a', name: { givenName: 'A' }, emails: [] });
  });

  it('Entra ID: manager in a POST body as an array with $ref, as a string, or empty', () => {
    expect(normaliseResourceBody({ [ENTERPRISE]: { manager: [{ $ref: null, value: 'm1' }] } })).toEqual({ [ENTERPRISE]: { manager: { value: 'm1' } } });
    expect(normaliseResourceBody({ [ENTERPRISE]: { manager: 'm1', department: 'D' } })).toEqual({ [ENTERPRISE]: { manager: { value: 'm1' }, department: 'D' } });
    expect(normaliseResourceBody({ [ENTERPRISE]: { manager: '' } })).toEqual({ [ENTERPRISE]: {} });
  });

  it('Entra ID: capitalised op names (Replace, Add, Remove)', () => {
    expect(patch([{ op: 'Replace', path: 'title', value: 'x' }, { op: 'Add', path: 'nickName', value: 'y' }, { op: 'Remove', path: 'locale' }])).toEqual([
      { op: 'replace', path: 'title', value: 'x' },
      { op: 'add', path: 'nickName', value: 'y' },
      { op: 'remove', path: 'locale' },
    ]);
  });

  it('Entra ID: "active": "False" in PATCH, with a path and path-less', () => {
    expect(patch([{ op: 'Replace', path: 'active', value: 'False' }])).toEqual([{ op: 'replace', path: 'active', value: false }]);
    expect(patch([{ op: 'Replace', value: { active: 'True' } }])).toEqual([{ op: 'replace', path: 'active', value: true }]);
  });

  it('Okta: deactivation by a path-less replace becomes a replace of active', () => {
    expect(patch([{ op: 'replace', value: { active: false } }])).toEqual([{ op: 'replace', path: 'active', value: false }]);
  });

  it('Okta: group rename echoes the id in a path-less replace; the id is dropped, a different id is kept for SCIMMY to refuse', () => {
    expect(patch([{ op: 'replace', value: { id: 'g1', displayName: 'New' } }], 'g1')).toEqual([{ op: 'replace', path: 'displayName', value: 'New' }]);
    expect(patch([{ op: 'replace', value: { id: 'other', displayName: 'New' } }], 'g1')).toEqual([
      { op: 'replace', path: 'id', value: 'other' },
      { op: 'replace', path: 'displayName', value: 'New' },
    ]);
  });

  it('Entra ID: path-less replace with dotted and URN-prefixed keys becomes one op per key; meta, schemas, groups are dropped', () => {
    expect(patch([{ op: 'Replace', value: { 'name.givenName': 'A', [`${ENTERPRISE}:department`]: 'D', meta: {}, schemas: [], groups: [] } }])).toEqual([
      { op: 'replace', path: 'name.givenName', value: 'A' },
      { op: 'replace', path: `${ENTERPRISE}:department`, value: 'D' },
    ]);
  });

  it('Entra ID: manager set as [{$ref, value}] or a plain string, cleared with an empty value', () => {
    const path = `${ENTERPRISE}:manager`;
    expect(patch([{ op: 'Add', path, value: [{ $ref: null, value: 'm1' }] }])).toEqual([{ op: 'replace', path, value: { value: 'm1' } }]);
    expect(patch([{ op: 'Add', path, value: 'm1' }])).toEqual([{ op: 'replace', path, value: { value: 'm1' } }]);
    expect(patch([{ op: 'Replace', path, value: '' }])).toEqual([{ op: 'remove', path }]);
    expect(patch([{ op: 'Add', path, value: [] }])).toEqual([{ op: 'remove', path }]);
    expect(patch([{ op: 'Replace', path: `${path}.value`, value: 'm2' }])).toEqual([{ op: 'replace', path, value: { value: 'm2' } }]);
  });

  it('Entra ID: manager named without the extension URN ("manager", "manager.value")', () => {
    const path = `${ENTERPRISE}:manager`;
    expect(patch([{ op: 'Add', path: 'manager', value: [{ $ref: '../Users/m1', value: 'm1' }] }])).toEqual([{ op: 'replace', path, value: { value: 'm1' } }]);
    expect(patch([{ op: 'Replace', path: 'manager.value', value: 'm2' }])).toEqual([{ op: 'replace', path, value: { value: 'm2' } }]);
    expect(patch([{ op: 'Replace', path: 'manager', value: [] }])).toEqual([{ op: 'remove', path }]);
    expect(patch([{ op: 'Remove', path: 'manager' }])).toEqual([{ op: 'remove', path }]);
  });

  it('Entra ID: a replace with a null or empty value clears the attribute', () => {
    expect(patch([{ op: 'Replace', path: 'title', value: null }, { op: 'Replace', path: 'nickName', value: '' }])).toEqual([
      { op: 'remove', path: 'title' },
      { op: 'remove', path: 'nickName' },
    ]);
  });

  it('Entra ID: Remove of members with a value list passes through (SCIMMY removes only the listed members)', () => {
    expect(patch([{ op: 'Remove', path: 'members', value: [{ value: 'u2' }] }])).toEqual([{ op: 'remove', path: 'members', value: [{ value: 'u2' }] }]);
  });

  it('Entra ID: a work email set by a filtered path on a user without one is added as a new entry', () => {
    const operation = { op: 'add', path: 'emails[type eq "work"].value', value: 'a@b.org' };
    expect(normalisePatchForResource([operation], { emails: [{ type: 'home', value: 'h@b.org' }] })).toEqual([{ op: 'add', path: 'emails', value: [{ type: 'work', value: 'a@b.org' }] }]);
    expect(normalisePatchForResource([operation], { emails: [{ type: 'work', value: 'old@b.org' }] })).toEqual([operation]);
  });

  it("Microsoft's validator: a member's display named displayName, in a Group body and in a PATCH of members", () => {
    expect(normaliseResourceBody({ displayName: 'G', members: [{ value: 'u1', displayName: 'New User' }, { value: 'u2' }] })).toEqual({
      displayName: 'G',
      members: [{ value: 'u1', display: 'New User' }, { value: 'u2' }],
    });
    expect(patch([{ op: 'add', path: 'members', value: [{ displayName: 'New User', value: 'u1' }] }])).toEqual([{ op: 'add', path: 'members', value: [{ value: 'u1', display: 'New User' }] }]);
    // display, when given too, wins; the group's own displayName is not a member's.
    expect(patch([{ op: 'add', path: 'members', value: [{ display: 'D', displayName: 'X', value: 'u1' }] }])).toEqual([{ op: 'add', path: 'members', value: [{ display: 'D', value: 'u1' }] }]);
    expect(patch([{ op: 'replace', path: 'displayName', value: 'G2' }])).toEqual([{ op: 'replace', path: 'displayName', value: 'G2' }]);
  });

  it("Microsoft's validator: attributes=emails[type eq \"work\"] asks for the attribute (the value filter is dropped)", () => {
    expect(attributesWithoutValueFilters('emails[type eq "work"]')).toBe('emails');
    expect(attributesWithoutValueFilters('userName,emails[value eq "a,b"],name.givenName')).toBe('userName,emails,name.givenName');
    expect(attributesWithoutValueFilters('userName,emails')).toBe('userName,emails');
  });

  it('refuses PatchOp bodies of the wrong shape with 400 invalidSyntax (SCIMMY would throw a TypeError)', () => {
    const refusal = (fn: () => unknown) => {
      try {
        fn();
      } catch (error) {
        return { status: (error as { status?: unknown }).status, scimType: (error as { scimType?: unknown }).scimType };
      }
      return null;
    };
    expect(refusal(() => normalisePatchBody({ Operations: 'nope' }, 'u1'))).toEqual({ status: 400, scimType: 'invalidSyntax' });
    expect(refusal(() => normalisePatchBody(null, 'u1'))).toEqual({ status: 400, scimType: 'invalidSyntax' });
    for (const operation of [42, null, 'replace', [], {}]) expect(refusal(() => patch([operation])), JSON.stringify(operation)).toEqual({ status: 400, scimType: 'invalidSyntax' });
    expect(refusal(() => patch([{ op: 'replace', path: 5, value: 1 }]))).toEqual({ status: 400, scimType: 'invalidPath' });
  });

  it('leaves other malformed bodies for SCIMMY to answer with its 400', () => {
    expect(normalisePatchBody({ schemas: [PATCH] }, 'u1')).toEqual({ schemas: [PATCH] });
    expect(normaliseResourceBody([1])).toEqual([1]);
    expect(normalisePatchForResource([42, null] as never, {})).toEqual([42, null]);
  });
});
