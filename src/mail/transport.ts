import fs from 'node:fs/promises';
import path from 'node:path';
import nodemailer, { type SendMailOptions } from 'nodemailer';
import type { Logger } from '../log.ts';

/**
 * Outgoing mail. SMTP_URL set: SMTP through nodemailer. Unset: each message is written as an
 * .eml file under <data dir>/mail, so a fresh install can still show the welcome link.
 */
export interface Mailer {
  readonly description: string;
  send(message: SendMailOptions): Promise<{ messageId: string; path?: string }>;
  close(): void;
}

export function createMailer(options: { smtpUrl: string | undefined; mailFrom: string; dataDir: string }, logger: Logger): Mailer {
  if (options.smtpUrl) {
    const transport = nodemailer.createTransport(options.smtpUrl);
    const url = new URL(options.smtpUrl);
    return {
      description: `${url.protocol}//${url.hostname}:${url.port || (url.protocol === 'smtps:' ? 465 : 587)}`,
      async send(message) {
        const info = await transport.sendMail({ from: options.mailFrom, ...message });
        return { messageId: info.messageId };
      },
      close: () => transport.close(),
    };
  }

  const dir = path.join(options.dataDir, 'mail');
  const transport = nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'unix' });
  logger.info({ dir }, 'SMTP_URL is not set: mail is written as .eml files');
  return {
    description: `files in ${dir}`,
    async send(message) {
      const info = await transport.sendMail({ from: options.mailFrom, ...message });
      await fs.mkdir(dir, { recursive: true });
      const id = info.messageId.replace(/[<>]/g, '').replace(/[^A-Za-z0-9._@-]/g, '_');
      const file = path.join(dir, `${new Date().toISOString().replace(/[:.]/g, '-')}-${id}.eml`);
      await fs.writeFile(file, info.message as Buffer);
      logger.info({ file, to: message.to, subject: message.subject }, 'mail written to file');
      return { messageId: info.messageId, path: file };
    },
    close: () => transport.close(),
  };
}
