import { DriverException, UniqueConstraintViolationException } from '@mikro-orm/core';
import { describe, expect, it } from 'vitest';
import { serializeError } from '../../src/log.ts';
import { isDatabaseError, isSecretParam, redactDatabaseMessage, redactError, redactUrl } from '../../src/redact.ts';

describe('redactUrl', () => {
  it('replaces the value of a set-password token and keeps the rest of the URL as written', () => {
    expect(redactUrl('/set-password?token=AbC_12-xyz')).toBe('/set-password?token=[redacted]');
    expect(redactUrl('/set-password?utm=mail&token=AbC&x=%20y')).toBe('/set-password?utm=mail&token=[redacted]&x=%20y');
    expect(redactUrl('https://turnover.test/set-password?token=AbC')).toBe('https://turnover.test/set-password?token=[redacted]');
  });

  it('redacts every credential-bearing parameter, whatever its case, spelling or encoding', () => {
    const secrets = ['token', 'TOKEN', 'access_token', 'refresh_token', 'id_token', 'sessionToken', 'code', 'password', 'newPassword', 'secret', 'client_secret',
      'key', 'api_key', 'apiKey', 'x-api-key', 'signature', 'sig', 'X-Amz-Signature', 'X-Amz-Credential', 'X-Amz-Security-Token', 'pin', 'otp', 'confirm',
      '%74oken', 'token[]', 'token[0]'];
    for (const name of secrets) {
      expect(isSecretParam(name), name).toBe(true);
      expect(redactUrl(`/p?${name}=s3cr3t&a=1`), name).toBe(`/p?${name}=[redacted]&a=1`);
    }
  });

  it('keeps the parameters an operator needs to read a request', () => {
    for (const name of ['filter', 'attributes', 'excludedAttributes', 'startIndex', 'count', 'cursor', 'limit', 'q', 'kind', 'state', 'includeRevoked', 'sortBy', 'keyboard', 'tokens_page']) {
      expect(isSecretParam(name), name).toBe(false);
    }
    const scim = '/scim/v2/Users?filter=userName%20eq%20%22ada%22&startIndex=1&count=10';
    expect(redactUrl(scim)).toBe(scim);
    expect(redactUrl('/healthz')).toBe('/healthz');
    expect(redactUrl('/a?token')).toBe('/a?token'); // no value to hide
  });

  it('redacts parameters in the fragment and the user:password of an absolute URL', () => {
    expect(redactUrl('https://app.test/cb#access_token=abc&state=1')).toBe('https://app.test/cb#access_token=[redacted]&state=1');
    expect(redactUrl('postgres://turnover:hunter2@db:5432/turnover')).toBe('postgres://[redacted]@db:5432/turnover');
  });
});

describe('redactDatabaseMessage', () => {
  it('keeps the statement with every literal as ? and the server message with the names the error gives', () => {
    expect(
      redactDatabaseMessage(
        `update "users" set "email" = 'o''brien@example.org', "failed_login_count" = 3 where "id" = 'f3a1' and now() - interval '1 day' > x - duplicate key value violates unique constraint "users_email_key"\n - detail: Key (email)=(o'brien@example.org) already exists.`,
        ['users_email_key', 'users'],
      ),
    ).toBe(`update "users" set "email" = ?, "failed_login_count" = ? where "id" = ? and now() - interval ? > x - duplicate key value violates unique constraint "users_email_key"`);
  });

  it('hides a value the server quotes in its own message', () => {
    expect(redactDatabaseMessage(`select * from users where id = 'abc' - invalid input syntax for type uuid: "abc"`)).toBe(
      'select * from users where id = ? - invalid input syntax for type uuid: "?"',
    );
    // pg without knex (parameters sent apart): only the server message.
    expect(redactDatabaseMessage('value "99999999999" is out of range for type integer')).toBe('value "?" is out of range for type integer');
  });

  it('drops a hint that MikroORM appended', () => {
    expect(redactDatabaseMessage(`select f('x') - function f(unknown) does not exist\n - hint: No function matches`)).toBe(
      'select f(?) - function f(unknown) does not exist',
    );
  });
});

describe('redactError and serializeError', () => {
  const driverError = () => {
    const pgError = Object.assign(new Error(`insert into "tenants" ("id", "name") values ('1f', 'Acme Secret') - duplicate key value violates unique constraint "tenants_name_key"`), {
      name: 'error',
      code: '23505',
      severity: 'ERROR',
      detail: 'Key (name)=(Acme Secret) already exists.',
      constraint: 'tenants_name_key',
      table: 'tenants',
      routine: '_bt_check_unique',
    });
    return new UniqueConstraintViolationException(pgError);
  };

  it('recognises database errors: MikroORM, pg (SQLSTATE and severity), and a statement knex prefixed', () => {
    expect(isDatabaseError(driverError())).toBe(true);
    expect(isDatabaseError(Object.assign(new Error('deadlock detected'), { code: '40P01', severity: 'ERROR' }))).toBe(true);
    expect(isDatabaseError(new Error(`select 1 from x where y = 'z' - Connection terminated unexpectedly`))).toBe(true);
    expect(isDatabaseError(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' }))).toBe(false);
    expect(isDatabaseError(new Error("Cannot find module 'x'"))).toBe(false);
  });

  it('serializes a driver exception with its type, SQLSTATE and constraint, no values and no detail', () => {
    const out = serializeError(driverError()) as Record<string, unknown>;
    expect(JSON.stringify(out)).not.toContain('Acme Secret');
    expect(out).toMatchObject({
      type: 'UniqueConstraintViolationException',
      code: '23505',
      constraint: 'tenants_name_key',
      table: 'tenants',
      routine: '_bt_check_unique',
      message: 'insert into "tenants" ("id", "name") values (?, ?) - duplicate key value violates unique constraint "tenants_name_key"',
    });
    expect(out).not.toHaveProperty('detail');
    expect(String(out.stack)).toMatch(/^UniqueConstraintViolationException: insert into "tenants" \("id", "name"\) values \(\?, \?\) - duplicate key/);
  });

  it('finds a database error as a cause, in an AggregateError and as a property, and leaves other errors untouched', () => {
    const plain = new TypeError('x is not a function');
    expect(redactError(plain)).toBe(plain);
    const withPlainCause = new Error('outer', { cause: plain });
    expect(redactError(withPlainCause)).toBe(withPlainCause);

    const wrapped = Object.assign(new Error('batch failed', { cause: driverError() }), { failing: driverError(), taskId: 't1' });
    const out = serializeError(wrapped) as Record<string, any>;
    expect(JSON.stringify(out)).not.toContain('Acme Secret');
    expect(out.message).toMatch(/^batch failed: insert into "tenants"/);
    expect(out.taskId).toBe('t1');
    expect(out.failing.code).toBe('23505');
    expect(wrapped.cause).toBeInstanceOf(DriverException); // the error itself is not changed

    const aggregate = serializeError(new AggregateError([plain, driverError()], 'two failed')) as Record<string, any>;
    expect(JSON.stringify(aggregate)).not.toContain('Acme Secret');
    expect(aggregate.aggregateErrors.map((e: { type: string }) => e.type)).toEqual(['TypeError', 'UniqueConstraintViolationException']);
  });
});

describe('redactScimFilter', () => {
  it('hides the value compared to a secret-named attribute, keeps the rest as written', async () => {
    const { redactScimFilter } = await import('../../src/redact.ts');
    expect(redactScimFilter('userName eq "ada@example.org" and password eq "hunter\\"2"')).toBe('userName eq "ada@example.org" and password eq "[redacted]"');
    expect(redactScimFilter('urn:ietf:params:scim:schemas:core:2.0:User:password Eq "x" or emails[value co "@example.org"]')).toBe(
      'urn:ietf:params:scim:schemas:core:2.0:User:password Eq "[redacted]" or emails[value co "@example.org"]',
    );
    expect(redactScimFilter('externalId eq "E-1"')).toBe('externalId eq "E-1"');
  });
});
