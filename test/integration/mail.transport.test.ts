import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log.ts';
import { createMailer } from '../../src/mail/transport.ts';
import { startSmtpSink } from '../support/smtp-sink.ts';

const logger = createLogger('silent');

describe('mailer', () => {
  const sinks: Array<{ close(): Promise<void> }> = [];
  afterAll(async () => {
    for (const s of sinks) await s.close();
  });

  it('sends through SMTP when SMTP_URL is set', async () => {
    const sink = await startSmtpSink();
    sinks.push(sink);
    const mailer = createMailer({ smtpUrl: sink.url, mailFrom: 'turnover <noreply@turnover.test>', dataDir: '/nonexistent' }, logger);
    const sent = await mailer.send({ to: 'ada@example.org', subject: 'Welcome', text: 'Set your password', messageId: '<task-1@turnover>' });
    mailer.close();
    expect(sent.messageId).toBe('<task-1@turnover>');
    expect(sink.received).toHaveLength(1);
    expect(sink.received[0]).toMatchObject({ from: 'noreply@turnover.test', to: ['ada@example.org'] });
    expect(sink.received[0]!.raw).toContain('Subject: Welcome');
    expect(sink.received[0]!.raw).toContain('Message-ID: <task-1@turnover>');
  });

  it('reports a refused message as an error the job can retry', async () => {
    const sink = await startSmtpSink({ failFirst: 1 });
    sinks.push(sink);
    const mailer = createMailer({ smtpUrl: sink.url, mailFrom: 'noreply@turnover.test', dataDir: '/nonexistent' }, logger);
    await expect(mailer.send({ to: 'ada@example.org', subject: 's', text: 't' })).rejects.toMatchObject({ responseCode: 451 });
    await expect(mailer.send({ to: 'ada@example.org', subject: 's', text: 't' })).resolves.toBeTruthy();
    mailer.close();
    expect(sink.received).toHaveLength(1);
  });

  it('writes .eml files under the data directory when SMTP_URL is unset', async () => {
    const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'turnover-mail-'));
    const mailer = createMailer({ smtpUrl: undefined, mailFrom: 'noreply@turnover.test', dataDir }, logger);
    const sent = await mailer.send({ to: 'ada@example.org', subject: 'Welcome', text: 'https://id.example/set-password?token=x' });
    expect(sent.path).toMatch(new RegExp(`^${dataDir}/mail/.*\\.eml$`));
    const eml = await fs.readFile(sent.path!, 'utf8');
    expect(eml).toContain('To: ada@example.org');
    expect(eml).toContain('https://id.example/set-password?token=x');
    await fs.rm(dataDir, { recursive: true, force: true });
  });
});
