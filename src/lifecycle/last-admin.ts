import type { StoredUserStatus, UserRole } from './statuses.ts';
import type { LifecycleEvent } from './transition.ts';

/**
 * The last administrator: a tenant must keep at least one user with role `admin` who can sign in
 * to the console, or nobody can change settings, tokens or roles there any more. An operator's
 * change that would take away the last such admin is refused (`last_admin`): a disable, ban,
 * delete, permanent delete, reset (with or without a hand-over) or deprovision of them, or a role
 * change away from admin.
 *
 * Not refused, on purpose:
 * - identity-provider changes (SCIM deactivate, delete, role, termination dates): the IdP is
 *   authoritative for the people it manages, and a leaver who kept admin access because they were
 *   the last admin would be the worse failure. A tenant left without an admin is recovered with
 *   `turnover operator create` or an admin token.
 * - a forced password reset (the same person gets back in with the emailed link) and the
 *   lockout after wrong passwords (the lockout protects the admin's account).
 */

/** Decided by the store with the tenant's other admins, never by transition() (one user's rules). */
export interface LastAdminRefusal {
  code: 'last_admin';
  message: string;
}
export const LAST_ADMIN_REFUSAL: Readonly<LastAdminRefusal> = Object.freeze({
  code: 'last_admin',
  message: "This would leave the tenant without an admin who can sign in; make another user admin first.",
});

/** Statuses in which a user can sign in now (a password_required admin has no password yet). */
export const SIGN_IN_STATUSES: readonly StoredUserStatus[] = Object.freeze(['active', 'inactive']);

export interface AdminFacts {
  role: UserRole;
  status: StoredUserStatus;
}

/** An admin who can sign in to the console now. */
export function canAdminister(user: AdminFacts): boolean {
  return user.role === 'admin' && SIGN_IN_STATUSES.includes(user.status);
}

/** Whether going from `before` to `after` takes an admin who can sign in away. */
export function takesAwayAdmin(before: AdminFacts, after: AdminFacts): boolean {
  return canAdminister(before) && !canAdminister(after);
}

/** The operator events the rule guards (see above for those it leaves alone). */
export const LAST_ADMIN_EVENTS = ['disable', 'ban', 'delete', 'permanent_delete', 'reset', 'deprovision'] as const satisfies ReadonlyArray<LifecycleEvent['type']>;

export function guardsLastAdmin(event: LifecycleEvent): boolean {
  if (event.type === 'deprovision') return event.source === 'admin';
  return (LAST_ADMIN_EVENTS as readonly string[]).includes(event.type);
}

/**
 * Whether a change that takes `takenAway` admins away (one request: several users at once) must
 * be refused: when it takes at least one and no other admin who can sign in remains.
 */
export function removesLastAdmin(takenAway: number, otherAdmins: number): boolean {
  return takenAway > 0 && otherAdmins === 0;
}
