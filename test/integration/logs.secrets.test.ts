import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { PROCESSORS } from '../../jobs/index.ts';
import { createApp } from '../../src/http/app.ts';
import { createLogger } from '../../src/log.ts';
import { UserSchema } from '../../src/store/entities/index.ts';
import { parseMail } from '../support/mime.ts';
import { useTestRuntime } from '../support/runtime.ts';
import { startSmtpSink } from '../support/smtp-sink.ts';

const PUBLIC_URL = 'https://turnover.test';
const LINK = /https:\/\/turnover\.test\/set-password\?token=([A-Za-z0-9_-]{43})/;

/** Every line a logger writes, parsed, as a log pipeline would receive it. */
function memoryLog() {
  const lines: string[] = [];
  const logger = createLogger('trace', {}, { write: (line: string) => void lines.push(line) });
  return { logger, lines, records: () => lines.map((l) => JSON.parse(l) as Record<string, any>) };
}

const sink = await startSmtpSink();
afterAll(() => sink.close());
const log = memoryLog();

describe('secrets stay out of the logs', () => {
  const t = useTestRuntime({
    label: 'logs_secrets',
    processors: PROCESSORS,
    env: { SMTP_URL: sink.url, PUBLIC_URL },
    logger: log.logger,
  });

  const tokenMailedTo = (email: string, nth: number) => {
    const mails = sink.received.filter((m) => m.to.includes(email)).map((m) => parseMail(m.raw));
    const token = LINK.exec(mails[nth]?.text ?? '')?.[1];
    if (!token) throw new Error(`no set-password link in mail ${nth} to ${email}`);
    return token;
  };

  it('logs a welcome link and a recovery link opened and used, without either token, on any line', async () => {
    const user = await t.createUser({ userName: 'kaylee', email: 'kaylee@example.org', status: 'password_required' });
    await t.waitForTask(await t.createTask('welcome_email', user.id), ['succeeded']);
    const welcome = tokenMailedTo('kaylee@example.org', 0);

    const page = await fetch(`${t.runtime.url}/set-password?token=${welcome}`);
    expect(page.status).toBe(200);
    const set = await fetch(`${t.runtime.url}/client/password`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token: welcome, password: 'shiny engine room 1' }),
    });
    expect(set.status).toBe(200);

    const reset = await t.createTask('force_password_reset', user.id, { sendRecoveryEmail: true });
    await t.waitForTask(reset, ['succeeded']);
    // The recovery mail is its own welcome_email task, queued by the reset.
    for (let i = 0; sink.received.filter((m) => m.to.includes('kaylee@example.org')).length < 2; i++) {
      if (i > 500) throw new Error('no recovery mail');
      await new Promise((r) => setTimeout(r, 40));
    }
    const recovery = tokenMailedTo('kaylee@example.org', 1);
    expect((await fetch(`${t.runtime.url}/set-password?token=${recovery}&utm_source=mail`)).status).toBe(200);
    const form = await fetch(`${t.runtime.url}/client/password`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: recovery, password: 'a new shiny password', confirm: 'a new shiny password' }),
    });
    expect(form.status).toBe(200);
    // A link used twice: a 410, logged as a warning, same URL shape.
    expect((await fetch(`${t.runtime.url}/set-password?token=${recovery}`)).status).toBe(410);

    const records = log.records();
    for (const token of [welcome, recovery, 'shiny engine room 1', 'a new shiny password']) {
      expect(log.lines.filter((l) => l.includes(token))).toEqual([]);
      expect(log.lines.filter((l) => l.includes(encodeURIComponent(token)))).toEqual([]);
    }
    const requests = records.filter((r) => r.req && r.res);
    const urls = requests.map((r) => `${r.req.method} ${r.req.url} ${r.res.statusCode}`);
    expect(urls).toEqual(
      expect.arrayContaining([
        'GET /set-password?token=[redacted] 200',
        'POST /client/password 200',
        'GET /set-password?token=[redacted]&utm_source=mail 200',
        'GET /set-password?token=[redacted] 410',
      ]),
    );
    // The jobs that minted and mailed the links logged their work, by link id only.
    const sent = records.filter((r) => r.msg === 'email sent');
    expect(sent.map((r) => r.purpose).sort()).toEqual(['recovery', 'welcome']);
    expect(sent.every((r) => typeof r.linkId === 'string')).toBe(true);
  });

  it('redacts secret parameters on error lines too: the request line and the handler\'s line of a 500', async () => {
    const failing = memoryLog();
    const app = createApp({
      logger: failing.logger,
      readiness: [],
      beforeScrape: async () => {
        throw new Error('scrape failed');
      },
    });
    const server = http.createServer(app).listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    try {
      const { port } = server.address() as AddressInfo;
      const res = await fetch(`http://127.0.0.1:${port}/metrics?access_token=sekrit-access&X-Amz-Signature=sekrit-sig&page=2`);
      expect(res.status).toBe(500);
    } finally {
      await new Promise((r) => server.close(r));
    }
    expect(failing.lines.filter((l) => /sekrit/.test(l))).toEqual([]);
    const records = failing.records();
    expect(records.find((r) => r.msg === 'request failed')).toMatchObject({ level: 50, path: '/metrics', err: { message: 'scrape failed' } });
    expect(records.find((r) => r.req)).toMatchObject({ level: 50, req: { url: '/metrics?access_token=[redacted]&X-Amz-Signature=[redacted]&page=2' }, res: { statusCode: 500 } });
  });

  it('redacts a request target logged as `path` or `url` by any logger (the SCIM router logs the full URL)', () => {
    const any = memoryLog();
    any.logger.error({ path: '/scim/v2/Users?filter=userName%20eq%20%22a%22&code=sekrit-code', url: 'https://ops:sekrit-pass@example.org/x?key=sekrit-key' }, 'SCIM request failed');
    expect(any.lines.join('')).not.toMatch(/sekrit/);
    expect(any.records()[0]).toMatchObject({
      path: '/scim/v2/Users?filter=userName%20eq%20%22a%22&code=[redacted]',
      url: 'https://[redacted]@example.org/x?key=[redacted]',
    });
  });

  describe('database errors are logged without the values in them', () => {
    const SECRET = 'Sekrit-Value-7731';

    /** The one line logging `error` writes, and its serialized err. */
    const logged = (error: unknown) => {
      const one = memoryLog();
      one.logger.error({ err: error }, 'request failed');
      expect(one.lines).toHaveLength(1);
      expect(one.lines[0]).not.toContain(SECRET);
      const { err } = one.records()[0]!;
      // No literal of any kind is left in the statement.
      expect(`${err.message}\n${err.stack}`).not.toMatch(/'[^']*'/);
      return err as Record<string, any>;
    };

    it('a check violation from a flush: statement with ? for values, no failing row, SQLSTATE and constraint kept', async () => {
      const em = t.runtime.orm.em.fork();
      em.create(UserSchema, { tenantId: t.tenantId, userName: `${SECRET}@example.org`, passwordHash: `scrypt$${SECRET}`, role: SECRET as never });
      const error = await em.flush().then(() => null, (e: unknown) => e);
      // The driver exception does hold the values: the row, the hash, in message and detail.
      expect(String((error as Error).message)).toContain(SECRET);

      const err = logged(error);
      expect(err).toMatchObject({ type: 'CheckConstraintViolationException', code: '23514', constraint: 'users_role_check', table: 'users' });
      expect(err.message).toMatch(/^insert into "users" \("id", "tenant_id", "user_name", .*\) values \(\?, \?, \?, .* - new row for relation "users" violates check constraint "users_role_check"$/);
      expect(err).not.toHaveProperty('detail');
      expect(err.stack).toMatch(/^CheckConstraintViolationException: insert into "users"/);
      expect(err.stack).toMatch(/\n\s+at /);
    });

    it('a unique violation from raw SQL, and the same error as the cause of another', async () => {
      await t.sql(`insert into tenants (id, name) values (gen_random_uuid(), ?)`, [SECRET]);
      const error = await t.sql(`insert into tenants (id, name) values (gen_random_uuid(), ?)`, [SECRET]).then(() => null, (e: unknown) => e);
      expect((error as { detail?: string }).detail).toContain(SECRET);

      const err = logged(error);
      expect(err).toMatchObject({ code: '23505', constraint: 'tenants_name_key', table: 'tenants' });
      expect(err.message).toBe('insert into tenants (id, name) values (gen_random_uuid(), ?) - duplicate key value violates unique constraint "tenants_name_key"');

      const wrapped = logged(new Error('the import failed', { cause: error }));
      expect(wrapped.message).toBe(`the import failed: ${err.message}`);
      expect(wrapped.stack).toContain('caused by: error: insert into tenants');
    });

    it('a value quoted in the server message (invalid uuid), refused by the database (400, logged): the logged lines have neither', async () => {
      const failing = memoryLog();
      const app = createApp({
        logger: failing.logger,
        readiness: [],
        beforeScrape: async () => void (await t.sql(`select id from users where id = ?`, [SECRET])),
      });
      const server = http.createServer(app).listen(0, '127.0.0.1');
      await new Promise((r) => server.once('listening', r));
      try {
        const { port } = server.address() as AddressInfo;
        expect((await fetch(`http://127.0.0.1:${port}/metrics`)).status).toBe(400);
      } finally {
        await new Promise((r) => server.close(r));
      }
      expect(failing.lines.filter((l) => l.includes(SECRET))).toEqual([]);
      const line = failing.records().find((r) => r.msg === 'request failed');
      expect(line?.err).toMatchObject({ code: '22P02', message: 'select id from users where id = ? - invalid input syntax for type uuid: "?"' });
    });
  });
});
