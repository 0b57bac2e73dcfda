import { describe, expect, it } from 'vitest';
import { formatUtc, recoveryMessage, welcomeMessage, type PasswordLinkMailInput } from '../../src/mail/messages.ts';

const input: PasswordLinkMailInput = {
  firstName: 'Ada',
  login: 'ada.lovelace@example.org',
  extension: '1009',
  link: 'https://turnover.test/set-password?token=AbC_dEf-123',
  expiresAt: new Date('2026-12-03T14:05:42.123Z'),
  validHours: 168,
};

describe('password link emails', () => {
  it('welcome: greets the user and gives login, extension, link and its expiry in text and HTML', () => {
    const mail = welcomeMessage(input);
    expect(mail.subject).toMatch(/set your password/i);
    expect(mail.text).toContain('Hello Ada,');
    expect(mail.text).toContain('Login: ada.lovelace@example.org');
    expect(mail.text).toContain('Extension: 1009');
    expect(mail.text).toContain(`\n${input.link}\n`);
    expect(mail.text).toContain('valid for 168 hours');
    expect(mail.text).toContain('until 2026-12-03 14:05 UTC');
    expect(mail.html).toContain(`href="${input.link}"`);
    expect(mail.html).toContain('<strong>ada.lovelace@example.org</strong>');
    expect(mail.html).toContain('<strong>1009</strong>');
    expect(mail.html).toContain('valid for 168 hours');
    expect(mail.html).toContain('2026-12-03 14:05 UTC');
  });

  it('leaves the extension line out for a user without one, and greets without a name', () => {
    const mail = welcomeMessage({ ...input, extension: null, firstName: null });
    expect(mail.text).not.toMatch(/Extension/);
    expect(mail.html).not.toMatch(/Extension/);
    expect(mail.text.startsWith('Hello,\n')).toBe(true);
    expect(mail.text).toContain('Login: ada.lovelace@example.org');
  });

  it('says "1 hour" for a one-hour link', () => {
    expect(welcomeMessage({ ...input, validHours: 1 }).text).toContain('valid for 1 hour from');
  });

  it('recovery: says the old password no longer works, with its own subject, and the same account details', () => {
    const welcome = welcomeMessage(input);
    const recovery = recoveryMessage(input);
    expect(recovery.subject).not.toBe(welcome.subject);
    expect(recovery.subject).toMatch(/new password/i);
    expect(recovery.text).toMatch(/previous password no longer works/);
    expect(welcome.text).not.toMatch(/previous password/);
    expect(recovery.text).toContain('Login: ada.lovelace@example.org');
    expect(recovery.text).toContain('Extension: 1009');
    expect(recovery.text).toContain(input.link);
    expect(recovery.text).toContain('until 2026-12-03 14:05 UTC');
  });

  it('escapes user-controlled values in the HTML part', () => {
    const mail = welcomeMessage({
      ...input,
      firstName: '<script>alert(1)</script>',
      login: 'o"brien&co@example.org',
      link: 'https://turnover.test/set-password?token=a&b="c"',
    });
    expect(mail.html).not.toContain('<script>');
    expect(mail.html).toContain('&#60;script&#62;');
    expect(mail.html).toContain('o&#34;brien&#38;co@example.org');
    expect(mail.html).toContain('href="https://turnover.test/set-password?token=a&#38;b=&#34;c&#34;"');
    // Plain text is not HTML: left as given.
    expect(mail.text).toContain('Login: o"brien&co@example.org');
  });

  it('names no product or company from the help articles', () => {
    for (const mail of [welcomeMessage(input), recoveryMessage(input)]) {
      for (const part of [mail.subject, mail.text, mail.html]) expect(part).not.toMatch(/ucaas|nifty|snap|manager portal/i);
    }
  });

  it('formats times as absolute UTC to the minute', () => {
    expect(formatUtc(new Date('2026-01-02T03:04:59.999Z'))).toBe('2026-01-02 03:04 UTC');
  });
});
