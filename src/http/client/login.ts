import express, { type Router } from 'express';
import { rateLimit } from 'express-rate-limit';
import { z } from 'zod';
import { DEFAULT_TENANT_NAME, DEVICE_KINDS } from '../../store/entities/index.ts';
import { revokeTokensOfDevice, upsertDevice } from '../../store/devices.ts';
import type { Orm } from '../../store/orm.ts';
import { insertApiToken } from '../../store/tokens.ts';
import { findUserById } from '../../store/users.ts';
import { RequestError } from '../errors.ts';
import { jsonBody } from '../../input-guard.ts';
import { parseInput } from '../admin/route.ts';
import { signIn } from '../sign-in.ts';
import type { SharedLimitStores } from '../rate-limit-store.ts';

/**
 * POST /client/login (DESIGN.md §4): a user signs in from an app with user name (or email) and
 * password, and gets a device token bound to that device.
 * The password check and the lockout are src/http/sign-in.ts, shared with the console's sign-in.
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

export function loginRoutes(
  router: Router,
  { orm, limits = LOGIN_RATE_LIMITS, stores }: { orm: Orm; limits?: typeof LOGIN_RATE_LIMITS; stores?: SharedLimitStores },
): void {
  const tooMany = (_req: express.Request, _res: express.Response, next: express.NextFunction) =>
    next(new RequestError('too_many_requests', 429, 'Too many sign-in attempts; wait a while and try again.'));
  // Counted in Redis when there is one (shared by every API process), else in this process (see
  // rate-limit-store.ts). A limiter whose store fails lets the request through: the lockout,
  // which is what stops guessing, is counted in the database regardless.
  const shared = (name: string) => (stores ? { store: stores.store(name), passOnStoreError: true } : {});
  const perAddress = rateLimit({
    windowMs: limits.windowMs,
    limit: limits.perAddress,
    standardHeaders: 'draft-8',
    legacyHeaders: false,
    handler: tooMany,
    ...shared('login-address'),
  });
  const perUser = rateLimit({
    windowMs: limits.windowMs,
    limit: limits.perUser,
    standardHeaders: false,
    legacyHeaders: false,
    handler: tooMany,
    ...shared('login-user'),
    keyGenerator: (req) => `user:${String(req.body?.tenant ?? DEFAULT_TENANT_NAME)}:${String(req.body?.userName ?? '').trim().toLowerCase()}`,
  });

  router.post('/client/login', jsonBody({ limit: '16kb' }), perAddress, perUser, async (req, res) => {
    const body = parseInput(loginBody, req.body ?? {}, 'body');
    const outcome = await signIn(
      orm,
      {
        tenant: body.tenant ?? DEFAULT_TENANT_NAME,
        userName: body.userName,
        password: body.password,
        via: 'client_login',
        ...(body.device ? { details: { deviceKind: body.device.kind } } : {}),
      },
      async (tx, candidate) => {
        const device = body.device
          ? await upsertDevice(tx, { tenantId: candidate.tenantId, userId: candidate.id, clientId: body.device.id, kind: body.device.kind, name: body.device.name ?? null })
          : null;
        // One live token per device: signing in again on it replaces the old one.
        if (device) await revokeTokensOfDevice(tx, device.id);
        const { token } = insertApiToken(tx, {
          tenantId: candidate.tenantId,
          kind: 'device',
          userId: candidate.id,
          deviceId: device?.id ?? null,
          label: device ? `${device.kind} ${device.clientId}` : 'client sign-in',
          actor: `user:${candidate.id}`,
        });
        await tx.flush();
        const user = await findUserById(tx, candidate.tenantId, candidate.id);
        return { token, device, user: user! };
      },
    );
    res.set('Cache-Control', 'no-store');
    res.json({
      token: outcome.token,
      tokenType: 'Bearer',
      user: { id: outcome.user.id, userName: outcome.user.userName, firstName: outcome.user.firstName, lastName: outcome.user.lastName, status: outcome.user.status },
      device: outcome.device ? { id: outcome.device.id, clientId: outcome.device.clientId, kind: outcome.device.kind } : null,
    });
  });
}

