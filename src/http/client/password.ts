import { createHash } from 'node:crypto';
import type { Response, Router } from 'express';
import { z } from 'zod';
import type { Orm } from '../../store/orm.ts';
import { consumeLink, findUsableLink } from '../../store/password-links.ts';
import { hashPassword, passwordProblem } from '../../store/passwords.ts';
import { applyLifecycleEvent } from '../../store/user-lifecycle.ts';
import { findUserById } from '../../store/users.ts';
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
  | { ok: true; userName: string | null; status: string }
  | { ok: false; status: number; code: string; title: string; message: string; retry: boolean };

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
      title: lookup.link.purpose === 'welcome' ? 'Set up your account' : 'Choose a new password',
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
      return sendPage(res, 422, { title: 'Choose a password', message: 'The two passwords are not the same.', form: { token }, error: true });
    }
    const outcome = await setPassword(orm, token, password);
    if (outcome.ok) {
      return sendPage(res, 200, {
        title: 'Your password is set',
        message: outcome.userName ? `You can now sign in as ${outcome.userName}.` : 'You can now sign in.',
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
  if (problem) return { ok: false, status: 422, code: 'weak_password', title: 'Choose a stronger password', message: problem, retry: true };
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
    return { ok: true, userName: user.userName, status: applied.result.status };
  }).catch((error: unknown): Outcome => {
    if (error instanceof RequestError) return { ok: false, status: error.status, code: error.code, title: 'The password cannot be set', message: error.message, retry: false };
    throw error;
  });
}

// ---- the page -------------------------------------------------------------------------------

const STYLE = `body{font-family:system-ui,sans-serif;max-width:28rem;margin:4rem auto;padding:0 1rem;color:#1d1d1f}
h1{font-size:1.4rem}label{display:block;margin:1rem 0 .25rem}input[type=password]{width:100%;padding:.5rem;font-size:1rem;box-sizing:border-box}
button{margin-top:1.25rem;padding:.6rem 1.2rem;font-size:1rem}.error{color:#b00020}.hint{color:#555;font-size:.9rem}`;
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
<main>
<h1>${escapeHtml(page.title)}</h1>
<p${page.error ? ' class="error" role="alert"' : ''}>${escapeHtml(page.message)}</p>
${form}
</main>
</body>
</html>
`);
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
