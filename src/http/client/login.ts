import express, { type Router } from 'express';
import { rateLimit } from 'express-rate-limit';
import { z } from 'zod';
import { DEFAULT_TENANT_NAME, DEVICE_KINDS } from '../../store/entities/index.ts';
import { revokeTokensOfDevice, upsertDevice } from '../../store/devices.ts';
import type { Orm } from '../../store/orm.ts';
import { verifyPassword } from '../../store/passwords.ts';
import { insertApiToken } from '../../store/tokens.ts';
import { applyLifecycleEvent } from '../../store/user-lifecycle.ts';
import { findSignInCandidate, findUserById } from '../../store/users.ts';
import { RequestError } from '../errors.ts';
import { parseInput } from '../admin/route.ts';
import type { RefusalCode } from '../../lifecycle/transition.ts';

/**
 * POST /client/login (DESIGN.md §4): a user signs in from an app with user name (or email) and
 * password, and gets a device token bound to that device.
 *
 * The lockout is counted through applyLifecycleEvent, which locks the user row: of 20 parallel
 * wrong passwords each increments the count after the previous one committed, so exactly
 * `lockoutThreshold` are counted before the user is `denied` (the others see `denied` and count
 * nothing). The password is checked before that lock (scrypt takes ~50 ms; holding the row
 * meanwhile would serialise every sign-in of the user).
 */
export const loginBody = z
  .object({
    userName: z.string().trim().min(1).max(320),
    password: z.string().min(1).max(1024),
    /** The tenant's name; the default tenant when absent. */
    tenant: z.string().trim().min(1).max(200).optional(),
    device: z
      .object({
        /** The client's own stable identifier for itself. */
        id: z.string().trim().min(1).max(200),
        kind: z.enum(DEVICE_KINDS),
        name: z.string().trim().max(200).optional(),
      })
      .strict()
      .optional(),
  })
  .strict();

/** Attempts per user name and per address; the lockout itself is the policy's lockoutThreshold. */
export const LOGIN_RATE_LIMITS = {
  windowMs: 15 * 60_000,
  perUser: 30,
  perAddress: 300,
};

/** 403 for a user who exists and gave the right password but may not sign in; 423 while locked. */
const BLOCKED: Partial<Record<RefusalCode, number>> = {
  user_banned: 403,
  user_disabled: 403,
  user_deleted: 403,
  user_locked: 423,
  user_reset: 403,
  password_not_set: 401,
};

export function loginRoutes(router: Router, { orm, limits = LOGIN_RATE_LIMITS }: { orm: Orm; limits?: typeof LOGIN_RATE_LIMITS }): void {
  const tooMany = (_req: express.Request, _res: express.Response, next: express.NextFunction) =>
    next(new RequestError('too_many_requests', 429, 'Too many sign-in attempts; wait a while and try again.'));
  // In-process counters: each API process limits on its own (a shared store would need Redis,
  // which is optional); the lockout, which is what stops guessing, is counted in the database.
  const perAddress = rateLimit({ windowMs: limits.windowMs, limit: limits.perAddress, standardHeaders: 'draft-8', legacyHeaders: false, handler: tooMany });
  const perUser = rateLimit({
    windowMs: limits.windowMs,
    limit: limits.perUser,
    standardHeaders: false,
    legacyHeaders: false,
    handler: tooMany,
    keyGenerator: (req) => `user:${String(req.body?.tenant ?? DEFAULT_TENANT_NAME)}:${String(req.body?.userName ?? '').trim().toLowerCase()}`,
  });

  router.post('/client/login', express.json({ limit: '16kb' }), perAddress, perUser, async (req, res) => {
    const body = parseInput(loginBody, req.body ?? {}, 'body');
    const em = orm.em.fork();
    const candidate = await findSignInCandidate(em, body.tenant ?? DEFAULT_TENANT_NAME, body.userName);
    // Always one scrypt, so an unknown user name takes as long as a wrong password.
    const passwordOk = await verifyPassword(body.password, candidate?.passwordHash ?? null);
    if (!candidate) throw invalidCredentials();

    const outcome = await orm.em.fork().transactional(async (tx) => {
      const applied = await applyLifecycleEvent(tx, {
        tenantId: candidate.tenantId,
        userId: candidate.id,
        event: { type: passwordOk ? 'sign_in_succeeded' : 'sign_in_failed' },
        actor: `user:${candidate.id}`,
        details: { via: 'client_login', ...(body.device ? { deviceKind: body.device.kind } : {}) },
      });
      if (!applied.ok) return { kind: 'refused', refusal: applied.refusal } as const;
      if (!passwordOk) return { kind: 'failed', status: applied.result.status } as const;

      const device = body.device
        ? await upsertDevice(tx, { tenantId: candidate.tenantId, userId: candidate.id, clientId: body.device.id, kind: body.device.kind, name: body.device.name ?? null })
        : null;
      // One live token per device: signing in again on it replaces the old one.
      if (device) await revokeTokensOfDevice(tx, device.id);
      const { token, record } = insertApiToken(tx, {
        tenantId: candidate.tenantId,
        kind: 'device',
        userId: candidate.id,
        deviceId: device?.id ?? null,
        label: device ? `${device.kind} ${device.clientId}` : 'client sign-in',
        actor: `user:${candidate.id}`,
      });
      await tx.flush();
      const user = await findUserById(tx, candidate.tenantId, candidate.id);
      return { kind: 'signed_in', token, tokenId: record.id, device, user: user! } as const;
    });

    if (outcome.kind === 'refused') {
      const status = BLOCKED[outcome.refusal.code] ?? 403;
      // A wrong password never tells more than "wrong", except that the account is locked.
      if (!passwordOk && status !== 423) throw invalidCredentials();
      throw new RequestError(outcome.refusal.code, status, outcome.refusal.message);
    }
    if (outcome.kind === 'failed') {
      if (outcome.status === 'denied') {
        throw new RequestError('user_locked', 423, 'Too many wrong passwords: the account is locked. An administrator can unlock it.');
      }
      throw invalidCredentials();
    }
    res.set('Cache-Control', 'no-store');
    res.json({
      token: outcome.token,
      tokenType: 'Bearer',
      user: { id: outcome.user.id, userName: outcome.user.userName, firstName: outcome.user.firstName, lastName: outcome.user.lastName, status: outcome.user.status },
      device: outcome.device ? { id: outcome.device.id, clientId: outcome.device.clientId, kind: outcome.device.kind } : null,
    });
  });
}

function invalidCredentials(): RequestError {
  return new RequestError('invalid_credentials', 401, 'The user name or password is wrong.');
}
