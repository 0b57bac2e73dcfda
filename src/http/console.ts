import { createHash, timingSafeEqual } from 'node:crypto';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseCookies } from 'cookie';
import express, { type Request, type Response, type Router } from 'express';
import helmet from 'helmet';
import { z } from 'zod';
import { resolvePolicy } from '../lifecycle/policy.ts';
import { isOperatorRole, type OperatorRole } from '../lifecycle/statuses.ts';
import { DEFAULT_TENANT_NAME } from '../store/entities/index.ts';
import { findLiveOperatorSession, insertOperatorSession, revokeOperatorSession, type SessionOperator } from '../store/operator-sessions.ts';
import type { Orm } from '../store/orm.ts';
import { loadPolicy } from '../store/user-lifecycle.ts';
import { insertAuditEntry } from '../store/audit.ts';
import type { Operator, OperatorAuthenticator } from './admin/auth.ts';
import type { ApiContext } from './context.ts';
import { RequestError } from './errors.ts';
import { jsonBody } from '../input-guard.ts';
import { signIn } from './sign-in.ts';

/**
 * The operator console at /console: the built React app (web/dist) with a history fallback and a
 * strict Content-Security-Policy, and its session endpoints at /console/api/session. Operators
 * (users whose role is office_manager or admin) sign in with their password; the session id
 * travels in an HttpOnly, SameSite=Strict cookie, and the admin API accepts it like an admin
 * token (see sessionAuthenticator) for state-changing requests only with the CSRF header.
 */
export const SESSION_COOKIE = 'turnover_session';
export const CSRF_COOKIE = 'turnover_csrf';
export const CSRF_HEADER = 'x-csrf-token';

const DIST = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../web/dist');

const signInBody = z
  .object({
    userName: z.string().trim().min(1).max(320),
    password: z.string().min(1).max(1024),
    tenant: z.string().trim().min(1).max(200).optional(),
  })
  .strict();

/** The CSRF token is a one-way function of the session id: the page can read it, not the session. */
export function csrfFor(sessionToken: string): string {
  return createHash('sha256').update(`csrf:${sessionToken}`).digest('base64url');
}

export function createConsoleRouter({ orm, config }: ApiContext): Router {
  const router = express.Router();
  const secure = config.publicUrl.startsWith('https:');
  router.use(
    helmet({
      contentSecurityPolicy: {
        useDefaults: false,
        directives: {
          defaultSrc: ["'self'"],
          scriptSrc: ["'self'"],
          // Mantine writes its CSS variables in a <style> element; no script is ever inline.
          styleSrc: ["'self'", "'unsafe-inline'"],
          imgSrc: ["'self'", 'data:'],
          connectSrc: ["'self'"],
          fontSrc: ["'self'"],
          objectSrc: ["'none'"],
          baseUri: ["'self'"],
          formAction: ["'self'"],
          frameAncestors: ["'none'"],
        },
      },
      strictTransportSecurity: secure,
    }),
  );

  const cookieOptions = { httpOnly: true, sameSite: 'strict', secure, path: '/' } as const;
  const setSessionCookies = (res: Response, token: string | null) => {
    if (token) {
      res.cookie(SESSION_COOKIE, token, cookieOptions);
      res.cookie(CSRF_COOKIE, csrfFor(token), { ...cookieOptions, httpOnly: false });
    } else {
      res.clearCookie(SESSION_COOKIE, cookieOptions);
      res.clearCookie(CSRF_COOKIE, { ...cookieOptions, httpOnly: false });
    }
  };

  router.get('/api/session', async (req, res) => {
    res.set('Cache-Control', 'no-store');
    const session = await currentSession(orm, req);
    if (!session) throw new RequestError('unauthorized', 401, 'not signed in');
    res.json(me(session));
  });

  router.post('/api/session', jsonBody({ limit: '16kb' }), async (req, res) => {
    requireSameOrigin(req);
    const parsed = signInBody.safeParse(req.body ?? {});
    if (!parsed.success) throw new RequestError('validation_failed', 422, 'userName and password are required');
    const body = parsed.data;
    const session = await signIn(
      orm,
      {
        tenant: body.tenant ?? DEFAULT_TENANT_NAME,
        userName: body.userName,
        password: body.password,
        via: 'console',
        // Only operators may use this door; anyone else is told what a wrong password is told.
        allow: (candidate) => isOperatorRole(candidate.role),
      },
      async (tx, candidate) => {
        const policy = await loadPolicy(tx, candidate.tenantId);
        return insertOperatorSession(tx, {
          tenantId: candidate.tenantId,
          userId: candidate.id,
          maxHours: policy.sessionMaxHours,
          userAgent: req.get('user-agent') ?? null,
          address: req.ip ?? null,
        });
      },
    );
    const live = await findLiveOperatorSession(orm.em.fork(), session.token);
    if (!live) throw new RequestError('unauthorized', 401, 'the session could not be started');
    setSessionCookies(res, session.token);
    res.set('Cache-Control', 'no-store');
    res.status(201).json(me(live));
  });

  router.delete('/api/session', async (req, res) => {
    const token = sessionToken(req);
    const session = token ? await findLiveOperatorSession(orm.em.fork(), token) : null;
    if (session) {
      requireCsrf(req, token!);
      const em = orm.em.fork();
      await em.transactional(async (tx) => {
        await revokeOperatorSession(tx, session.sessionId);
        insertAuditEntry(tx, { tenantId: session.tenantId, actor: `operator:${session.userId}`, action: 'session.signed_out', userId: session.userId });
      });
    }
    setSessionCookies(res, null);
    res.status(204).end();
  });

  router.use('/api', (req) => {
    throw new RequestError('not_found', 404, `no route for ${req.method} ${req.baseUrl}${req.path}`);
  });

  if (existsSync(DIST)) {
    router.use(express.static(DIST, { index: false, maxAge: '1y', immutable: true, fallthrough: true }));
    // History fallback: every other GET under /console is the app, which routes on the client.
    router.get('/{*path}', (_req, res) => {
      res.set('Cache-Control', 'no-cache');
      res.sendFile(path.join(DIST, 'index.html'));
    });
  } else {
    router.get('/{*path}', () => {
      throw new RequestError('console_not_built', 503, 'The console is not built: run `npm run build:console` (npm ci does it).');
    });
  }
  return router;
}

/**
 * The admin API's second way in: the console's session cookie. Safe methods need only the
 * cookie; anything else must also carry the CSRF header (a cross-site form cannot set it).
 */
export function sessionAuthenticator(orm: Orm): OperatorAuthenticator {
  return async (req) => {
    const token = sessionToken(req);
    if (!token) return null;
    const session = await findLiveOperatorSession(orm.em.fork(), token);
    if (!session) throw new RequestError('unauthorized', 401, 'the console session has ended; sign in again');
    if (!['GET', 'HEAD', 'OPTIONS'].includes(req.method)) requireCsrf(req, token);
    return { tenantId: session.tenantId, actor: `operator:${session.userId}`, role: session.role, policy: resolvePolicy(session.policy) } satisfies Operator;
  };
}

function sessionToken(req: Request): string | null {
  const header = req.get('cookie');
  if (!header) return null;
  return parseCookies(header)[SESSION_COOKIE] ?? null;
}

async function currentSession(orm: Orm, req: Request): Promise<SessionOperator | null> {
  const token = sessionToken(req);
  return token ? findLiveOperatorSession(orm.em.fork(), token) : null;
}

function requireCsrf(req: Request, token: string): void {
  const given = Buffer.from(req.get(CSRF_HEADER) ?? '');
  const expected = Buffer.from(csrfFor(token));
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    throw new RequestError('csrf_failed', 403, 'missing or wrong X-CSRF-Token header for a request made with the console session');
  }
}

/**
 * A sign-in form posted from another site (login CSRF) is refused; browsers always send Origin on
 * POST. `Origin: null` (a sandboxed frame, a file: page) and an Origin that is not a URL are
 * another site too.
 */
function requireSameOrigin(req: Request): void {
  const origin = req.get('origin');
  if (origin === undefined) return; // not a browser (curl, tests): nothing to forge
  const host = req.get('host');
  if (!host || !URL.canParse(origin) || new URL(origin).host !== host) throw new RequestError('csrf_failed', 403, 'sign-in must come from the console itself');
}

function me(session: SessionOperator): { userId: string; userName: string; role: OperatorRole; tenant: string; firstName: string | null; lastName: string | null } {
  return {
    userId: session.userId,
    userName: session.userName,
    role: session.role,
    tenant: session.tenantName,
    firstName: session.firstName,
    lastName: session.lastName,
  };
}
