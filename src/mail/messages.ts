/**
 * The emails turnover sends, as pure functions of their data: subject, plain text and a simple
 * HTML part. Nothing here sends; jobs/welcome-email.ts does.
 */

export type PasswordLinkMailPurpose = 'welcome' | 'recovery';

export interface PasswordLinkMailInput {
  /** For the greeting; omitted when the user has no first name. */
  firstName?: string | null;
  /** What the user signs in with (their user name). */
  login: string;
  /** The seat's extension, when the user has one. */
  extension?: string | null;
  /** The set-password link. */
  link: string;
  expiresAt: Date;
  /** The tenant's link lifetime, as stated in the email. */
  validHours: number;
}

export interface MailContent {
  subject: string;
  text: string;
  html: string;
}

interface Wording {
  subject: string;
  intro: string;
  action: string;
  after: string;
}

const WORDING: Record<PasswordLinkMailPurpose, Wording> = {
  welcome: {
    subject: 'Your new account: set your password',
    intro: 'Your account is ready, and you are one step away from finishing its setup. Here is your account information:',
    action: 'Set your password',
    after: 'Once your password is set, sign in with the login above.',
  },
  recovery: {
    subject: 'Set a new password for your account',
    intro:
      'Your administrator has asked you to set a new password. Your previous password no longer works, and your apps will ask you to sign in again. Here is your account information:',
    action: 'Set a new password',
    after: 'If you did not expect this email, contact your administrator.',
  },
};

export function welcomeMessage(input: PasswordLinkMailInput): MailContent {
  return passwordLinkMessage('welcome', input);
}

export function recoveryMessage(input: PasswordLinkMailInput): MailContent {
  return passwordLinkMessage('recovery', input);
}

export function passwordLinkMessage(purpose: PasswordLinkMailPurpose, input: PasswordLinkMailInput): MailContent {
  const w = WORDING[purpose];
  const greeting = input.firstName?.trim() ? `Hello ${input.firstName.trim()},` : 'Hello,';
  const details: Array<[string, string]> = [['Login', input.login]];
  if (input.extension?.trim()) details.push(['Extension', input.extension.trim()]);
  const hours = `${input.validHours} ${input.validHours === 1 ? 'hour' : 'hours'}`;
  const until = formatUtc(input.expiresAt);
  const validity = `This link is valid for ${hours} from the time this email was sent, until ${until}. After that, ask your administrator for a new one.`;

  const text = [
    greeting,
    '',
    w.intro,
    '',
    ...details.map(([label, value]) => `${label}: ${value}`),
    '',
    `${w.action}:`,
    input.link,
    '',
    validity,
    '',
    w.after,
    '',
  ].join('\n');

  const html = [
    '<!doctype html>',
    '<html><body style="font-family: sans-serif; line-height: 1.5">',
    `<p>${escapeHtml(greeting)}</p>`,
    `<p>${escapeHtml(w.intro)}</p>`,
    '<ul>',
    ...details.map(([label, value]) => `<li>${escapeHtml(label)}: <strong>${escapeHtml(value)}</strong></li>`),
    '</ul>',
    `<p><a href="${escapeHtml(input.link)}" style="display: inline-block; padding: 10px 16px; background: #1a56db; color: #ffffff; text-decoration: none; border-radius: 4px">${escapeHtml(w.action)}</a></p>`,
    `<p>${escapeHtml(validity)}</p>`,
    `<p>If the button does not work, copy this link into your browser:<br>${escapeHtml(input.link)}</p>`,
    `<p>${escapeHtml(w.after)}</p>`,
    '</body></html>',
    '',
  ].join('\n');

  return { subject: w.subject, text, html };
}

/** `2026-12-03 14:05 UTC`: absolute, so it reads the same in every time zone. */
export function formatUtc(date: Date): string {
  return `${date.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

export interface GuardAlertInput {
  tenant: string;
  heldCount: number;
  /** The console's Work screen, where held work is approved or rejected. */
  workUrl: string;
}

/** To a tenant's admins: the mass-deprovision guard is holding IdP deactivations or deletions. */
export function guardAlertMessage(input: GuardAlertInput): MailContent {
  const subject = `turnover: ${input.heldCount} identity-provider deprovisioning${input.heldCount === 1 ? '' : 's'} held for your approval`;
  const lines = [
    `The identity provider of tenant ${input.tenant} deactivated or deleted more users than the mass-deprovision guard allows.`,
    `${input.heldCount} change${input.heldCount === 1 ? ' is' : 's are'} held: those users keep their access until an admin decides.`,
    'If this is a misconfigured scoping rule or HR export, reject the held work and fix the identity provider; if it is intended, approve it.',
  ];
  const text = [...lines, '', `Review it here: ${input.workUrl}`, ''].join('\n');
  const html = [
    '<!doctype html>',
    '<html><body style="font-family: sans-serif; line-height: 1.5">',
    ...lines.map((line) => `<p>${escapeHtml(line)}</p>`),
    `<p><a href="${escapeHtml(input.workUrl)}">Review the held work</a></p>`,
    '</body></html>',
  ].join('\n');
  return { subject, text, html };
}
