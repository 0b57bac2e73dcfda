import { z } from 'zod';
import { DEFAULT_POLICY } from '../../lifecycle/policy.ts';
import { transition } from '../../lifecycle/transition.ts';
import { insertAuditEntry } from '../../store/audit.ts';
import type { Orm } from '../../store/orm.ts';
import { generatePassword, hashPassword, passwordProblem } from '../../store/passwords.ts';
import { applyLifecycleEvent } from '../../store/user-lifecycle.ts';
import { findUserById, updateUserPasswordHash } from '../../store/users.ts';
import { RequestError } from '../errors.ts';
import { idParams, type DefineRoute } from './route.ts';
import { userJson, userNotFound, userSchema } from './users.ts';

/**
 * A user's credentials, set by an operator:
 * - POST /users/:id/credentials: a new generated password, shown once ("Copy" and send it to the
 *   new user); only its hash is stored, the audit entry never holds it. A user waiting
 *   for a password becomes active; an active or inactive user gets the new password in place of
 *   the old one.
 * - POST /users/:id/unlock: a denied user may sign in again, optionally with a new
 *   password given or generated in the same call.
 */
const credentialsResponse = z
  .object({ userName: z.string().nullable(), password: z.string(), status: z.string() })
  .openapi('Credentials', { description: 'The plain password appears here once and is stored nowhere.' });

const unlockBody = z
  .object({
    /** A password the operator chose (strength rules apply). */
    password: z.string().min(1).max(256).optional(),
    /** Generate one and show it once. */
    generatePassword: z.boolean().optional(),
  })
  .strict()
  .refine((b) => !(b.password && b.generatePassword), 'give a password or ask to generate one, not both')
  .openapi('Unlock');

export function credentialRoutes(define: DefineRoute, { orm }: { orm: Orm }): void {
  define({
    method: 'post',
    path: '/users/:id/credentials',
    tag: 'Users',
    summary: 'Generate a new password, shown once',
    params: idParams,
    responses: {
      200: { description: 'The new credentials (Cache-Control: no-store).', schema: credentialsResponse },
      404: { description: 'No such user in this tenant.' },
      409: { description: 'The user cannot get a password in this status (banned, disabled, denied, reset, deleted).' },
    },
    handler: async ({ params, operator, res }) => {
      const password = generatePassword();
      const passwordHash = await hashPassword(password);
      const result = await orm.em.fork().transactional(async (em) => {
        const user = await findUserById(em, operator.tenantId, params.id);
        if (!user) throw userNotFound();
        const details = { via: 'operator_credentials' };
        if (user.status === 'active' || user.status === 'inactive') {
          // No status change: only the password is replaced (guarded by the status just read).
          if (!(await updateUserPasswordHash(em, operator.tenantId, user.id, passwordHash, ['active', 'inactive']))) {
            throw new RequestError('state_changed', 409, 'The user changed meanwhile; look at it again.');
          }
          insertAuditEntry(em, { tenantId: operator.tenantId, actor: operator.actor, action: 'user.credentials_issued', userId: user.id, details });
          await em.flush();
          return { userName: user.userName, status: user.status };
        }
        const applied = await applyLifecycleEvent(em, {
          tenantId: operator.tenantId,
          userId: user.id,
          event: { type: 'password_set' },
          passwordHash,
          actor: operator.actor,
          details,
        });
        if (!applied.ok) throw new RequestError(applied.refusal.code, 409, applied.refusal.message);
        return { userName: user.userName, status: applied.result.status };
      });
      res.set('Cache-Control', 'no-store');
      return { status: 200, body: { userName: result.userName, password, status: result.status } };
    },
  });

  define({
    method: 'post',
    path: '/users/:id/unlock',
    tag: 'Users',
    summary: 'Unlock a denied user, optionally with a new password',
    params: idParams,
    body: unlockBody,
    responses: {
      200: {
        description: 'The user after unlocking; `password` only when one was generated.',
        schema: z.object({ user: userSchema, password: z.string().optional() }).openapi('Unlocked'),
      },
      404: { description: 'No such user in this tenant.' },
      409: { description: 'not_locked, or the user is banned, disabled, reset or deleted.' },
      422: { description: 'The chosen password is too weak (weak_password).' },
    },
    handler: async ({ params, body, operator, res }) => {
      const current = await findUserById(orm.em.fork(), operator.tenantId, params.id);
      if (!current) throw userNotFound();
      // Refuse before hashing anything when the user cannot be unlocked at all.
      const check = transition(
        { status: current.status, disabledBy: current.disabledBy, failedLoginCount: current.failedLoginCount, hasPassword: current.hasPassword },
        { type: 'unlock' },
        DEFAULT_POLICY, // unlock reads no policy field
      );
      if (!check.ok || current.status !== 'denied') {
        const refusal = check.ok ? { code: 'not_locked', message: 'The user is not locked; only a denied user can be unlocked.' } : check.refusal;
        throw new RequestError(refusal.code, 409, refusal.message);
      }
      const generated = body.generatePassword ? generatePassword() : undefined;
      const chosen = body.password ?? generated;
      if (body.password) {
        const problem = passwordProblem(body.password, { userName: current.userName, email: current.email });
        if (problem) throw new RequestError('weak_password', 422, problem);
      }
      const passwordHash = chosen ? await hashPassword(chosen) : undefined;
      const user = await orm.em.fork().transactional(async (em) => {
        const applied = await applyLifecycleEvent(em, {
          tenantId: operator.tenantId,
          userId: params.id,
          event: { type: 'unlock', newPassword: chosen !== undefined },
          ...(passwordHash ? { passwordHash } : {}),
          actor: operator.actor,
          details: { newPassword: chosen !== undefined },
        });
        if (!applied.ok) throw new RequestError(applied.refusal.code, 409, applied.refusal.message);
        return (await findUserById(em, operator.tenantId, params.id))!;
      });
      if (generated) res.set('Cache-Control', 'no-store');
      return { status: 200, body: { user: userJson(user, operator.policy), ...(generated ? { password: generated } : {}) } };
    },
  });
}
