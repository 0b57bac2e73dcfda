import type { EntityManager } from '@mikro-orm/postgresql';
import type { RefusalCode } from '../lifecycle/transition.ts';
import type { Orm } from '../store/orm.ts';
import { hashPassword, needsRehash, verifyPassword } from '../store/passwords.ts';
import { applyLifecycleEvent } from '../store/user-lifecycle.ts';
import { findSignInCandidate, updateUserPasswordRehash, type SignInCandidate } from '../store/users.ts';
import { RequestError } from './errors.ts';

/**
 * A password sign-in (apps at /client/login, operators at /console/api/session), with the lockout
 * counted through the lifecycle applier, which locks the user row: of 20 parallel wrong passwords
 * each counts after the previous one committed, so exactly `lockoutThreshold` are counted before
 * the user is `denied`. The password is checked before that lock (scrypt takes ~160 ms; holding the
 * row meanwhile would serialise every sign-in of the user). `onSuccess` runs in the transaction
 * that recorded the sign-in (to issue a token or a session). A hash made with older scrypt
 * parameters is replaced in that transaction by one made with today's: the password is known
 * only now.
 */
export interface SignInInput {
  tenant: string;
  userName: string;
  password: string;
  /** For the audit entry: `client_login`, `console`. */
  via: string;
  details?: Record<string, unknown>;
  /** Refuse (as wrong credentials) a user who may not use this door, e.g. a non-operator at the console. */
  allow?: (candidate: SignInCandidate) => boolean;
}

/** 403 for a user who gave the right password but may not sign in; 423 while locked. */
const BLOCKED: Partial<Record<RefusalCode | 'last_admin', number>> = {
  user_banned: 403,
  user_disabled: 403,
  user_deleted: 403,
  user_locked: 423,
  user_reset: 403,
  password_not_set: 401,
};

export async function signIn<T>(orm: Orm, input: SignInInput, onSuccess: (tx: EntityManager, candidate: SignInCandidate) => Promise<T>): Promise<T> {
  const found = await findSignInCandidate(orm.em.fork(), input.tenant, input.userName);
  const candidate = found && (input.allow?.(found) ?? true) ? found : null;
  // Always one scrypt, so an unknown user name takes as long as a wrong password.
  const passwordOk = await verifyPassword(input.password, candidate?.passwordHash ?? null);
  if (!candidate) throw invalidCredentials();
  // Hashed before the transaction too, for the same reason; only a proven password is rehashed.
  const rehashed = passwordOk && needsRehash(candidate.passwordHash) ? await hashPassword(input.password) : null;

  const outcome = await orm.em.fork().transactional(async (tx) => {
    const applied = await applyLifecycleEvent(tx, {
      tenantId: candidate.tenantId,
      userId: candidate.id,
      event: { type: passwordOk ? 'sign_in_succeeded' : 'sign_in_failed' },
      actor: `user:${candidate.id}`,
      details: { via: input.via, ...input.details },
    });
    if (!applied.ok) return { kind: 'refused', refusal: applied.refusal } as const;
    if (!passwordOk) return { kind: 'failed', status: applied.result.status } as const;
    if (rehashed) await updateUserPasswordRehash(tx, candidate.id, candidate.passwordHash, rehashed);
    return { kind: 'signed_in', value: await onSuccess(tx, candidate) } as const;
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
  return outcome.value;
}

function invalidCredentials(): RequestError {
  return new RequestError('invalid_credentials', 401, 'The user name or password is wrong.');
}
