import { describe, expect, it } from 'vitest';
import { classifyInputError, findUnsafeInput, MAX_JSON_DEPTH, UnsafeInputError, urlHasNul } from '../../src/input-guard.ts';
import { classifyDatabaseError, isRetryableDatabaseError } from '../../src/store/errors.ts';

describe('findUnsafeInput', () => {
  it('names the first NUL in a string or a key, at any depth', () => {
    expect(findUnsafeInput({ name: { givenName: 'A\u0000' } })).toEqual({ reason: 'nul', path: 'body.name.givenName' });
    expect(findUnsafeInput({ emails: [{ value: 'ok' }, { value: '\u0000' }] })).toEqual({ reason: 'nul', path: 'body.emails[1].value' });
    expect(findUnsafeInput({ ['k\u0000']: 1 })).toEqual({ reason: 'nul', path: 'body (a key)' });
    expect(findUnsafeInput({ a: 'fine', b: [1, true, null, 'x'] })).toBeNull();
  });

  it('stops at the depth limit without recursing (200,000 levels do not overflow the stack)', () => {
    const deep = JSON.parse('['.repeat(200_000) + ']'.repeat(200_000));
    expect(findUnsafeInput(deep)?.reason).toBe('too_deep');
    let ok: unknown = 'x';
    for (let i = 0; i < MAX_JSON_DEPTH; i++) ok = [ok]; // exactly MAX_JSON_DEPTH nested arrays
    expect(findUnsafeInput(ok)).toBeNull();
    expect(findUnsafeInput([ok])?.reason).toBe('too_deep');
  });

  it('caps string length only when asked', () => {
    expect(findUnsafeInput({ a: 'x'.repeat(100) })).toBeNull();
    expect(findUnsafeInput({ a: 'x'.repeat(100) }, { maxStringLength: 99 })).toEqual({ reason: 'too_long', path: 'body.a' });
  });

  it('finds NUL in a URL raw or percent-encoded', () => {
    expect(urlHasNul('/Users/%00')).toBe(true);
    expect(urlHasNul('/admin/users?q=a%00b')).toBe(true);
    expect(urlHasNul('/Users?filter=userName%20eq%20%2200%22')).toBe(false);
  });
});

describe('classifyInputError', () => {
  it('maps the guard and body-parser refusals to one status and code each', () => {
    expect(classifyInputError(new UnsafeInputError('nul', 'body.x'))).toMatchObject({ status: 400, code: 'validation_failed', scimType: 'invalidValue' });
    expect(classifyInputError(new UnsafeInputError('too_deep', 'body'))).toMatchObject({ status: 400, code: 'too_deep', scimType: 'invalidSyntax' });
    expect(classifyInputError(new UnsafeInputError('url_too_long', 'url'))).toMatchObject({ status: 414 });
    // zlib's refusal of a body that says gzip and is not: status 400, no type.
    expect(classifyInputError(Object.assign(new Error('incorrect header check'), { status: 400, expose: true, code: 'Z_DATA_ERROR' }))).toMatchObject({ status: 400, code: 'invalid_body' });
    expect(classifyInputError(Object.assign(new Error('x'), { status: 500 }))).toBeNull();
    expect(classifyInputError(new Error('plain'))).toBeNull();
  });
});

describe('classifyDatabaseError', () => {
  it('treats a database that refuses or drops connections as unavailable', () => {
    for (const code of ['55000', '57P01', '57P03', '53300', '08006', '08001', 'ECONNREFUSED']) {
      expect(classifyDatabaseError({ code }), code).toEqual({ kind: 'unavailable' });
    }
    expect(isRetryableDatabaseError({ name: 'KnexTimeoutError', message: 'Knex: Timeout acquiring a connection.' })).toBe(true);
    expect(isRetryableDatabaseError(new Error('Connection terminated unexpectedly'))).toBe(true);
    expect(isRetryableDatabaseError({ message: 'wrapped', cause: { code: 'ECONNRESET' } })).toBe(true);
  });

  it('treats a value the database cannot hold (class 22, a NUL parameter) as the caller\'s, not as unavailable', () => {
    expect(classifyDatabaseError({ code: '08P01' })).toEqual({ kind: 'invalid_value', sqlState: '08P01' });
    expect(classifyDatabaseError({ code: '22021' })).toEqual({ kind: 'invalid_value', sqlState: '22021' });
    expect(classifyDatabaseError({ code: '23505', constraint: 'users_tenant_username_key' })).toMatchObject({ kind: 'unique' });
    expect(classifyDatabaseError({ code: '42P01' })).toBeNull();
  });
});
