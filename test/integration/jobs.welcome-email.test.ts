import { afterAll, describe, expect, it } from 'vitest';
import type { Queue } from 'bullmq';
import type { JobData } from '../../src/queue/task-queues.ts';
import { forcePasswordResetProcessor } from '../../jobs/force-password-reset.ts';
import { PROCESSORS } from '../../jobs/index.ts';
import type { TaskProcessor, TaskProcessors } from '../../src/queue/processor.ts';
import { welcomeEmailProcessor } from '../../jobs/welcome-email.ts';
import { formatUtc } from '../../src/mail/messages.ts';
import { DeviceSchema } from '../../src/store/entities/index.ts';
import { consumeLink, findUsableLink, issuePasswordLink } from '../../src/store/password-links.ts';
import { hashToken, insertApiToken } from '../../src/store/tokens.ts';
import { parseMail, type ParsedMail } from '../support/mime.ts';
import { useTestRuntime, type TestRuntime } from '../support/runtime.ts';
import { startSmtpSink } from '../support/smtp-sink.ts';

const PUBLIC_URL = 'https://turnover.test';
const LINK = /https:\/\/turnover\.test\/set-password\?token=([A-Za-z0-9_-]{43})/;
const HOUR_MS = 3_600_000;

// Started before useTestRuntime's beforeAll reads SMTP_URL.
const sink = await startSmtpSink();
const flakySink = await startSmtpSink({ failFirst: 2 });
afterAll(async () => {
  await sink.close();
  await flakySink.close();
});

/** Users whose welcome job dies right after the send is recorded, before the job completes. */
const crashAfterSend = new Set<string>();
const welcomeThenMaybeCrash: TaskProcessor<'welcome_email'> = async (context) => {
  const outcome = await welcomeEmailProcessor(context);
  if (context.task.userId && crashAfterSend.delete(context.task.userId)) throw new Error('worker died before completing the job');
  return outcome;
};

const processors = (welcome: TaskProcessor<'welcome_email'>): TaskProcessors => ({
  ...PROCESSORS,
  welcome_email: welcome,
  force_password_reset: forcePasswordResetProcessor,
});

type Sink = Awaited<ReturnType<typeof startSmtpSink>>;
const mailTo = (s: Sink, address: string): ParsedMail[] => s.received.filter((m) => m.to.includes(address)).map((m) => parseMail(m.raw));

/** The link token in a message, checked to appear in both parts. */
function tokenIn(mail: ParsedMail): string {
  const token = LINK.exec(mail.text)?.[1];
  if (!token) throw new Error(`no set-password link in:\n${mail.text}`);
  expect(mail.html).toContain(`href="${PUBLIC_URL}/set-password?token=${token}"`);
  return token;
}

/**
 * Waits until BullMQ has scheduled the job's retry, then runs it now instead of after the
 * welcome_email backoff (10 s and up): the retry path is BullMQ's own, only the wait is skipped.
 */
async function promoteRetry(queue: Queue<JobData>, jobId: string): Promise<void> {
  const started = Date.now();
  for (;;) {
    const job = await queue.getJob(jobId);
    if (job && (await job.getState()) === 'delayed') return job.promote();
    if (Date.now() - started > 15_000) throw new Error(`job ${jobId} was not scheduled for a retry`);
    await new Promise((r) => setTimeout(r, 40));
  }
}

async function linkRows(t: TestRuntime, where: string, params: unknown[]) {
  const rows = await t.sql<{ id: string; token_hash: string; purpose: string; task_id: string; expires_at: string; used_at: string | null; live: boolean }>(
    `select id, token_hash, purpose, task_id, expires_at, used_at, expires_at > now() as live from password_links where ${where} order by created_at`,
    params,
  );
  return rows.map((r) => ({ ...r, expires_at: new Date(r.expires_at) }));
}

describe('welcome_email and force_password_reset', () => {
  const t = useTestRuntime({
    label: 'jobs_welcome',
    processors: processors(welcomeThenMaybeCrash),
    env: { SMTP_URL: sink.url, PUBLIC_URL },
    roles: { api: false, relay: true, workers: true },
  });

  it('emails the login, extension and a set-password link valid for 168 hours, with Message-ID <task id@turnover>', async () => {
    const user = await t.createUser({ status: 'password_required', userName: 'ada.lovelace', email: 'ada@example.org', firstName: 'Ada', extension: '1009' });
    const id = await t.createTask('welcome_email', user.id);
    const task = await t.waitForTask(id, ['succeeded']);

    const mails = mailTo(sink, 'ada@example.org');
    expect(mails).toHaveLength(1);
    const mail = mails[0]!;
    expect(mail.headers.get('message-id')).toBe(`<${id}@turnover>`);
    expect(mail.headers.get('subject')).toMatch(/set your password/i);
    expect(mail.text).toContain('Hello Ada,');
    expect(mail.text).toContain('Login: ada.lovelace\n');
    expect(mail.text).toContain('Extension: 1009\n');
    expect(mail.text).toContain('valid for 168 hours');

    const token = tokenIn(mail);
    const [link, ...others] = await linkRows(t, 'user_id = ?', [user.id]);
    expect(others).toEqual([]);
    expect(link).toMatchObject({ token_hash: hashToken(token), purpose: 'welcome', task_id: id, used_at: null, live: true });
    expect(Math.abs(link!.expires_at.getTime() - (Date.now() + 168 * HOUR_MS))).toBeLessThan(60_000);
    expect(mail.text).toContain(`until ${formatUtc(link!.expires_at)}`);

    expect(task.result).toEqual({
      sentAt: expect.any(String),
      messageId: `<${id}@turnover>`,
      linkId: link!.id,
      to: 'ada@example.org',
      purpose: 'welcome',
      expiresAt: link!.expires_at.toISOString(),
    });
    expect((await t.getUser(user.id)).status).toBe('password_required');
    const audit = await t.sql(`select action, task_id from audit_entries where user_id = ?`, [user.id]);
    expect(audit).toEqual([{ action: 'user.send_welcome', task_id: id }]);
  });

  it("sets the link's lifetime from the tenant's welcomeLinkTtlHours and says so in the email", async () => {
    await t.sql(`update tenants set policy = policy || '{"welcomeLinkTtlHours": 24}'::jsonb where id = ?`, [t.tenantId]);
    try {
      const user = await t.createUser({ status: 'password_required', extension: null });
      await t.waitForTask(await t.createTask('welcome_email', user.id), ['succeeded']);
      const [mail] = mailTo(sink, user.email!);
      expect(mail!.text).toContain('valid for 24 hours');
      expect(mail!.text).not.toMatch(/Extension/);
      const [link] = await linkRows(t, 'user_id = ?', [user.id]);
      expect(Math.abs(link!.expires_at.getTime() - (Date.now() + 24 * HOUR_MS))).toBeLessThan(60_000);
    } finally {
      await t.sql(`update tenants set policy = policy - 'welcomeLinkTtlHours' where id = ?`, [t.tenantId]);
    }
  });

  it('stores the link token hashed only: the plain token appears nowhere in the database', async () => {
    const user = await t.createUser({ status: 'password_required' });
    await t.waitForTask(await t.createTask('welcome_email', user.id), ['succeeded']);
    const token = tokenIn(mailTo(sink, user.email!)[0]!);

    const tables = await t.sql<{ schema: string; name: string }>(
      `select table_schema as schema, table_name as name from information_schema.tables
        where table_type = 'BASE TABLE' and table_schema not in ('pg_catalog', 'information_schema')`,
    );
    expect(tables.map((x) => x.name)).toEqual(expect.arrayContaining(['password_links', 'tasks', 'audit_entries']));
    const hits = async (needle: string) => {
      const found: string[] = [];
      for (const { schema, name } of tables) {
        const [row] = await t.sql<{ n: number }>(`select count(*)::int as n from "${schema}"."${name}" t where position(? in t::text) > 0`, [needle]);
        if (row!.n > 0) found.push(`${schema}.${name}`);
      }
      return found;
    };
    expect(await hits(token)).toEqual([]);
    // The same search finds what is there: the hash, in password_links.
    expect(await hits(hashToken(token))).toEqual(['public.password_links']);
  });

  it('does not send again when the job runs again after a recorded send (task re-driven with its result kept)', async () => {
    const user = await t.createUser({ status: 'password_required' });
    const id = await t.createTask('welcome_email', user.id);
    const first = await t.waitForTask(id, ['succeeded']);
    expect(mailTo(sink, user.email!)).toHaveLength(1);

    // As if the job had been delivered again: the row back to pending with its result, the job gone.
    await (await t.runtime.queues.mail.getJob(id))?.remove(); // gone already where completed jobs are dropped
    await t.sql(`update tasks set state = 'pending', finished_at = null where id = ?`, [id]);
    const again = await t.waitForTask(id, ['succeeded']);

    expect(again.attempts).toBe(2);
    expect(again.result).toEqual(first.result);
    expect(mailTo(sink, user.email!)).toHaveLength(1);
    expect(await linkRows(t, 'task_id = ?', [id])).toHaveLength(1);
  });

  it('does not send again when the worker dies after the send, before the job completes', async () => {
    const user = await t.createUser({ status: 'password_required' });
    crashAfterSend.add(user.id);
    const id = await t.createTask('welcome_email', user.id);
    await promoteRetry(t.runtime.queues.mail, id);
    const task = await t.waitForTask(id, ['succeeded']);

    expect(task.attempts).toBe(2);
    const mails = mailTo(sink, user.email!);
    expect(mails).toHaveLength(1);
    // The link emailed by the first attempt is the task's one link, and it still works.
    const [link, ...others] = await linkRows(t, 'task_id = ?', [id]);
    expect(others).toEqual([]);
    expect(link).toMatchObject({ token_hash: hashToken(tokenIn(mails[0]!)), live: true });
    expect(task.result).toMatchObject({ linkId: link!.id, messageId: `<${id}@turnover>` });
  });

  it('force_password_reset clears the password, requires a new one, revokes sessions, device tokens and links, and sends a recovery email', async () => {
    const user = await t.createUser({ status: 'active', passwordHash: 'scrypt$old', failedLoginCount: 3, role: 'office_manager', extension: '2001' });
    const em = t.runtime.orm.em.fork();
    const device = em.create(DeviceSchema, { tenantId: t.tenantId, userId: user.id, kind: 'mobile_app', clientId: `phone-${user.id}` });
    await em.flush();
    const deviceToken = insertApiToken(em, { tenantId: t.tenantId, kind: 'device', userId: user.id, deviceId: device.id, actor: 'test' }).token;
    const session = insertApiToken(em, { tenantId: t.tenantId, kind: 'admin', role: 'office_manager', userId: user.id, actor: 'test' }).token;
    const oldLink = await issuePasswordLink(em, { tenantId: t.tenantId, userId: user.id, purpose: 'welcome', publicUrl: PUBLIC_URL });

    const id = await t.createTask('force_password_reset', user.id, { sendRecoveryEmail: true });
    const task = await t.waitForTask(id, ['succeeded']);
    expect(task.result).toMatchObject({ from: 'active', to: 'password_required', changed: true });

    const after = await t.getUser(user.id);
    expect([after.status, after.passwordHash, after.failedLoginCount]).toEqual(['password_required', null, 0]);
    const revoked = await t.sql<{ token_hash: string; revoked: boolean }>(
      `select token_hash, revoked_at is not null as revoked from api_tokens where user_id = ?`,
      [user.id],
    );
    expect(revoked).toEqual(
      expect.arrayContaining([
        { token_hash: hashToken(deviceToken), revoked: true },
        { token_hash: hashToken(session), revoked: true },
      ]),
    );
    expect(await findUsableLink(t.runtime.orm.em.fork(), oldLink.token)).toMatchObject({ ok: false, reason: 'expired' });

    const [recoveryTask] = await t.sql<{ id: string; payload: unknown }>(`select id, payload from tasks where user_id = ? and type = 'welcome_email'`, [
      user.id,
    ]);
    expect(recoveryTask!.payload).toEqual({ purpose: 'recovery' });
    await t.waitForTask(recoveryTask!.id, ['succeeded']);
    const mails = mailTo(sink, user.email!);
    expect(mails).toHaveLength(1);
    expect(mails[0]!.headers.get('subject')).toMatch(/new password/i);
    expect(mails[0]!.text).toMatch(/previous password no longer works/);
    expect(mails[0]!.text).toContain(`Login: ${user.userName}\n`);
    expect(mails[0]!.text).toContain('Extension: 2001\n');
    const found = await findUsableLink(t.runtime.orm.em.fork(), tokenIn(mails[0]!));
    expect(found).toMatchObject({ ok: true, link: { userId: user.id, purpose: 'recovery', taskId: recoveryTask!.id } });
  });

  it('force_password_reset without sendRecoveryEmail queues no email', async () => {
    const user = await t.createUser({ status: 'active', passwordHash: 'scrypt$old' });
    await t.waitForTask(await t.createTask('force_password_reset', user.id, {}), ['succeeded']);
    expect((await t.getUser(user.id)).status).toBe('password_required');
    expect(await t.sql(`select 1 from tasks where user_id = ? and type = 'welcome_email'`, [user.id])).toEqual([]);
  });

  it('fails a welcome for a user not awaiting a password permanently (not_awaiting_password), minting no link', async () => {
    const user = await t.createUser({ status: 'active', passwordHash: 'x' });
    const task = await t.waitForTask(await t.createTask('welcome_email', user.id), ['failed']);
    expect(task.attempts).toBe(1);
    expect(task.lastError).toMatch(/^not_awaiting_password: /);
    expect(await linkRows(t, 'user_id = ?', [user.id])).toEqual([]);
    expect(mailTo(sink, user.email!)).toEqual([]);
  });

  it('fails a welcome for a user without an email address permanently (email_required), minting no link', async () => {
    const user = await t.createUser({ status: 'password_required', email: null });
    const task = await t.waitForTask(await t.createTask('welcome_email', user.id), ['failed']);
    expect(task.attempts).toBe(1);
    expect(task.lastError).toMatch(/^email_required: /);
    expect(await linkRows(t, 'user_id = ?', [user.id])).toEqual([]);
  });

  describe('password links', () => {
    const issue = async (userId: string, taskId: string | null = null) =>
      issuePasswordLink(t.runtime.orm.em.fork(), { tenantId: t.tenantId, userId, purpose: 'welcome', taskId, publicUrl: PUBLIC_URL });

    it('tells unknown, malformed, expired and used tokens apart from a usable one', async () => {
      const user = await t.createUser({ status: 'password_required' });
      const em = t.runtime.orm.em.fork();
      const usable = await issue(user.id);
      expect(usable.url).toBe(`${PUBLIC_URL}/set-password?token=${usable.token}`);
      expect(await findUsableLink(em, usable.token)).toMatchObject({ ok: true, link: { id: usable.link.id, userId: user.id } });
      expect(await findUsableLink(em, 'A'.repeat(43))).toEqual({ ok: false, reason: 'unknown' });
      expect(await findUsableLink(em, `${usable.token}x`)).toEqual({ ok: false, reason: 'unknown' });

      const expired = await issue(user.id);
      await t.sql(`update password_links set expires_at = now() - interval '1 second' where id = ?`, [expired.link.id]);
      expect(await findUsableLink(em, expired.token)).toMatchObject({ ok: false, reason: 'expired', link: { id: expired.link.id } });
      expect(await em.transactional((tx) => consumeLink(tx, expired.link.id))).toBe(false);

      expect(await em.transactional((tx) => consumeLink(tx, usable.link.id))).toBe(true);
      expect(await findUsableLink(em, usable.token)).toMatchObject({ ok: false, reason: 'used' });
      expect(await em.transactional((tx) => consumeLink(tx, usable.link.id))).toBe(false);
    });

    it('lets only one of two concurrent uses of a link succeed', async () => {
      const user = await t.createUser({ status: 'password_required' });
      const { link } = await issue(user.id);
      let firstConsumed!: () => void;
      const consumedOnce = new Promise<void>((r) => (firstConsumed = r));
      const first = t.runtime.orm.em.fork().transactional(async (tx) => {
        const ok = await consumeLink(tx, link.id);
        firstConsumed();
        // Still uncommitted while the second use arrives and waits on the row.
        await new Promise((r) => setTimeout(r, 300));
        return ok;
      });
      await consumedOnce;
      const second = t.runtime.orm.em.fork().transactional((tx) => consumeLink(tx, link.id));
      expect(await Promise.all([first, second])).toEqual([true, false]);
    });

    it("issuing again for a task expires the task's earlier unused link, and no other", async () => {
      const user = await t.createUser({ status: 'password_required' });
      const taskId = await t.createTask('welcome_email', user.id, {}, { state: 'cancelled' });
      const unrelated = await issue(user.id);
      const earlier = await issue(user.id, taskId);
      const latest = await issue(user.id, taskId);
      const em = t.runtime.orm.em.fork();
      expect(await findUsableLink(em, earlier.token)).toMatchObject({ ok: false, reason: 'expired' });
      expect(await findUsableLink(em, latest.token)).toMatchObject({ ok: true });
      expect(await findUsableLink(em, unrelated.token)).toMatchObject({ ok: true });
    });
  });
});

describe('welcome_email against an SMTP server that refuses twice (451) before accepting', () => {
  const t = useTestRuntime({
    label: 'jobs_welcome_retry',
    processors: processors(welcomeEmailProcessor),
    env: { SMTP_URL: flakySink.url, PUBLIC_URL },
    roles: { api: false, relay: true, workers: true },
  });

  it('retries with backoff and delivers exactly one email; the task succeeds on the third attempt', async () => {
    const user = await t.createUser({ status: 'password_required', extension: '1010' });
    const id = await t.createTask('welcome_email', user.id);
    await promoteRetry(t.runtime.queues.mail, id);
    await promoteRetry(t.runtime.queues.mail, id);
    const task = await t.waitForTask(id, ['succeeded']);

    expect(task.attempts).toBe(3);
    expect(task.lastError).toBeNull();
    const mails = mailTo(flakySink, user.email!);
    expect(mails).toHaveLength(1);
    expect(mails[0]!.headers.get('message-id')).toBe(`<${id}@turnover>`);
    // Each attempt minted its own link; only the delivered one still works.
    const links = await linkRows(t, 'task_id = ?', [id]);
    expect(links).toHaveLength(3);
    expect(links.filter((l) => l.live)).toEqual([expect.objectContaining({ token_hash: hashToken(tokenIn(mails[0]!)) })]);
  });
});
