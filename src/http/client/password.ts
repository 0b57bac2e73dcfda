import { createHash } from 'node:crypto';
import type { Response, Router } from 'express';
import { z } from 'zod';
import type { Orm } from '../../store/orm.ts';
import { consumeLink, findUsableLink } from '../../store/password-links.ts';
import { hashPassword, passwordProblem } from '../../store/passwords.ts';
import { applyLifecycleEvent } from '../../store/user-lifecycle.ts';
import { findUserById } from '../../store/users.ts';
import { isOperatorRole } from '../../lifecycle/statuses.ts';
import { RequestError } from '../errors.ts';
import { formBody, jsonBody } from '../../input-guard.ts';
import { parseInput } from '../admin/route.ts';

/**
 * Setting a password from a welcome or recovery link (DESIGN.md §4):
 * - GET /set-password?token= : the page the emailed link opens; a plain server-rendered form, no
 *   script at all, so the strict Content-Security-Policy below holds.
 * - POST /client/password : `{token, password}` as JSON (apps) or as the page's form post (HTML
 *   answer). A valid, unexpired link sets the password, the user becomes active and the link
 *   stops working; a used or expired one answers 410 Gone with a page that says which.
 */
export const setPasswordBody = z
  .object({
    token: z.string().min(1).max(200),
    password: z.string().min(1).max(1024),
    /** The form's second field; checked only when given. */
    confirm: z.string().max(1024).optional(),
  })
  .strict();

type Outcome =
  | { ok: true; userName: string | null; status: string; operator: boolean }
  | { ok: false; status: number; code: string; title: string; message: string; retry: boolean };

/** The page's heading for a usable link: kept when the form comes back with an error. */
const FORM_TITLE = { welcome: 'Set up your account', reset: 'Choose a new password' } as const;
const formTitle = (purpose: string) => FORM_TITLE[purpose as keyof typeof FORM_TITLE] ?? FORM_TITLE.reset;

const GONE = {
  used: { code: 'link_used', title: 'This link has already been used', message: 'The password was already set with this link. Sign in with your password, or ask your administrator for a new link.' },
  expired: { code: 'link_expired', title: 'This link has expired', message: 'Set-password links are valid for a limited time. Ask your administrator to send you a new welcome email.' },
} as const;
const UNKNOWN = { code: 'link_not_found', title: 'This link is not valid', message: 'Check that you opened the whole link from the email, or ask your administrator for a new one.' };

export function passwordRoutes(router: Router, { orm }: { orm: Orm }): void {
  router.get('/set-password', async (req, res) => {
    const token = typeof req.query.token === 'string' ? req.query.token : '';
    if (!token) return sendPage(res, 400, { title: UNKNOWN.title, message: UNKNOWN.message });
    const lookup = await findUsableLink(orm.em.fork(), token);
    if (!lookup.ok) {
      const gone = lookup.reason === 'unknown' ? null : GONE[lookup.reason];
      return sendPage(res, gone ? 410 : 404, gone ?? UNKNOWN);
    }
    const user = await findUserById(orm.em.fork(), lookup.link.tenantId, lookup.link.userId);
    sendPage(res, 200, {
      title: formTitle(lookup.link.purpose),
      message: user?.userName ? `Choose a password for ${user.userName}.` : 'Choose a password.',
      form: { token },
    });
  });

  router.post('/client/password', jsonBody({ limit: '16kb' }), formBody('16kb'), async (req, res) => {
    const fromForm = req.is('application/x-www-form-urlencoded') === 'application/x-www-form-urlencoded';
    if (!fromForm) {
      const body = parseInput(setPasswordBody, req.body ?? {}, 'body');
      const outcome = await setPassword(orm, body.token, body.password);
      if (!outcome.ok) throw new RequestError(outcome.code, outcome.status, outcome.message);
      res.set('Cache-Control', 'no-store');
      return res.json({ status: outcome.status, userName: outcome.userName });
    }

    const parsed = setPasswordBody.safeParse(req.body ?? {});
    if (!parsed.success) return sendPage(res, 400, { title: UNKNOWN.title, message: 'The form was incomplete. Open the link from the email again.' });
    const { token, password, confirm } = parsed.data;
    if (confirm !== undefined && confirm !== password) {
      const lookup = await findUsableLink(orm.em.fork(), token);
      const title = lookup.ok ? formTitle(lookup.link.purpose) : FORM_TITLE.reset;
      return sendPage(res, 422, { title, message: 'The two passwords are not the same.', form: { token }, error: true });
    }
    const outcome = await setPassword(orm, token, password);
    if (outcome.ok) {
      const as = outcome.userName ? ` as ${outcome.userName}` : '';
      return sendPage(res, 200, {
        title: 'Your password is set',
        // Operators go on to the console; everyone else signs in on their phone or desktop app.
        ...(outcome.operator
          ? { message: `You can now sign in${as}.`, link: { href: '/console/', text: 'Sign in to the console' } }
          : { message: `You can now sign in${as} on your phone or desktop app.` }),
      });
    }
    sendPage(res, outcome.status, { title: outcome.title, message: outcome.message, ...(outcome.retry ? { form: { token }, error: true } : {}) });
  });
}

/** Checks the link and the password's strength, then sets it; the link is used only by a success. */
async function setPassword(orm: Orm, token: string, password: string): Promise<Outcome> {
  const lookup = await findUsableLink(orm.em.fork(), token);
  if (!lookup.ok) {
    if (lookup.reason === 'unknown') return { ok: false, status: 404, ...UNKNOWN, retry: false };
    return { ok: false, status: 410, ...GONE[lookup.reason], retry: false };
  }
  const { link } = lookup;
  const user = await findUserById(orm.em.fork(), link.tenantId, link.userId);
  if (!user) return { ok: false, status: 410, ...GONE.expired, retry: false };
  const problem = passwordProblem(password, { userName: user.userName, email: user.email });
  if (problem) return { ok: false, status: 422, code: 'weak_password', title: formTitle(link.purpose), message: problem, retry: true };
  // Hashed before the transaction: scrypt takes tens of milliseconds, no lock is held meanwhile.
  const passwordHash = await hashPassword(password);

  return orm.em.fork().transactional(async (em): Promise<Outcome> => {
    // Of two uses of one link at once, only the first gets here with true.
    if (!(await consumeLink(em, link.id))) return { ok: false, status: 410, ...GONE.used, retry: false };
    const applied = await applyLifecycleEvent(em, {
      tenantId: link.tenantId,
      userId: link.userId,
      event: { type: 'password_set' },
      passwordHash,
      actor: `user:${link.userId}`,
      details: { via: `${link.purpose}_link`, linkId: link.id },
    });
    if (!applied.ok) {
      // Rolled back with the link still unused: the account is in a state a link cannot fix.
      throw new RequestError(applied.refusal.code, 409, applied.refusal.message);
    }
    return { ok: true, userName: user.userName, status: applied.result.status, operator: isOperatorRole(user.role) };
  }).catch((error: unknown): Outcome => {
    if (error instanceof RequestError) return { ok: false, status: error.status, code: error.code, title: 'The password cannot be set', message: error.message, retry: false };
    throw error;
  });
}

// ---- the page -------------------------------------------------------------------------------

/**
 * The console's look without its scripts: Mantine's font stack, sizes and primary blue (blue.8, white text on it 4.9:1),
 * a card on a tinted page, light or dark as the system says.
 */
const STYLE = `:root{color-scheme:light dark;--bg:#f8f9fa;--card:#fff;--text:#000;--dimmed:#495057;--border:#dee2e6;--primary:#1971c2;--error:#c92a2a}
@media (prefers-color-scheme:dark){:root{--bg:#242424;--card:#2e2e2e;--text:#c9c9c9;--dimmed:#b8b8b8;--border:#424242;--error:#ff8787}}
body{margin:0;background:var(--bg);color:var(--text);font-family:-apple-system,BlinkMacSystemFont,Segoe UI,Roboto,Helvetica,Arial,sans-serif;font-size:1rem;line-height:1.55}
header{padding:.75rem 1rem;border-bottom:1px solid var(--border);background:var(--card);font-weight:700;font-size:1.125rem}
main{max-width:28rem;margin:2.5rem auto;padding:1.5rem;background:var(--card);border:1px solid var(--border);border-radius:.5rem;box-sizing:border-box}
@media (max-width:30rem){main{margin:1rem;}}
h1{font-size:1.625rem;line-height:1.35;margin:0 0 .75rem}
label{display:block;margin:1rem 0 .25rem;font-weight:500;font-size:.875rem}
input[type=password]{width:100%;padding:.5rem .75rem;font:inherit;box-sizing:border-box;border:1px solid var(--border);border-radius:.25rem;background:var(--card);color:var(--text)}
input[type=password]:focus{outline:2px solid var(--primary);outline-offset:1px}
button,.button{display:inline-block;margin-top:1.25rem;padding:.5rem 1.125rem;font:inherit;font-weight:600;font-size:.875rem;border:0;border-radius:.25rem;background:var(--primary);color:#fff;text-decoration:none;cursor:pointer}
.error{color:var(--error);font-weight:500}.hint{color:var(--dimmed);font-size:.875rem}`;
/** The only inline content is this style block, allowed by its hash; no script may run at all. */
const CSP = [
  "default-src 'none'",
  `style-src 'sha256-${createHash('sha256').update(STYLE).digest('base64')}'`,
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join('; ');

interface Page {
  title: string;
  message: string;
  form?: { token: string };
  /** Show the message as an error above the form. */
  error?: boolean;
  /** Where to go next (the console, after an operator's password is set). */
  link?: { href: string; text: string };
}

function sendPage(res: Response, status: number, page: Page): void {
  const form = page.form
    ? `<form method="post" action="/client/password">
<input type="hidden" name="token" value="${escapeHtml(page.form.token)}">
<label for="password">New password</label>
<input type="password" id="password" name="password" autocomplete="new-password" required minlength="12" maxlength="256">
<label for="confirm">Repeat the password</label>
<input type="password" id="confirm" name="confirm" autocomplete="new-password" required minlength="12" maxlength="256">
<p class="hint">At least 12 characters, not your user name or email.</p>
<button type="submit">Set password</button>
</form>`
    : '';
  res
    .status(status)
    .set({
      'Content-Security-Policy': CSP,
      // The token is in this page's URL: never send it on as a referrer, never cache the page.
      'Referrer-Policy': 'no-referrer',
      'Cache-Control': 'no-store',
      'X-Content-Type-Options': 'nosniff',
      'X-Frame-Options': 'DENY',
    })
    .type('html')
    .send(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(page.title)}</title>
<style>${STYLE}</style>
</head>
<body>
<header>turnover</header>
<main>
<h1>${escapeHtml(page.title)}</h1>
<p${page.error ? ' class="error" role="alert"' : ''}>${escapeHtml(page.message)}</p>
${form}${page.link ? `<a class="button" href="${escapeHtml(page.link.href)}">${escapeHtml(page.link.text)}</a>` : ''}
</main>
</body>
</html>
`);
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
