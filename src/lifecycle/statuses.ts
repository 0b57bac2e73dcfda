/**
 * Glossary
 * - user: a person's account in a tenant. Its `status` is the lifecycle state below.
 * - seat / extension: the phone extension a user occupies. A reset keeps the seat and removes the
 *   person, so the seat can be recycled to the next employee.
 * - task: one unit of lifecycle work for one user (or one tenant, for sweeps), stored as a row
 *   first (the outbox) and then run by a queue worker.
 * - operation: a bulk action an operator started; one task per selected user.
 * - outbox: the task rows written in the same transaction as the change that needs them; a relay
 *   moves them to the queue after commit, so no event is lost when the queue is down.
 *
 * Every set of states is declared once here and reused by the entities, the migration's check
 * constraints, the API schemas and the console.
 */

/** Statuses visible in the admin API (DESIGN.md §2 and §4). */
export const USER_STATUSES = [
  'password_required',
  'active',
  'inactive',
  'disabled',
  'banned',
  'denied',
  'setup_required',
  'deleted',
] as const;
export type UserStatus = (typeof USER_STATUSES)[number];

/**
 * A purged user keeps a tombstone row (no personal data) so SCIM answers 404 for its id and the
 * audit trail keeps a pseudonymous reference. It is never listed or targeted.
 */
export const PURGED = 'purged' as const;
export const STORED_USER_STATUSES = [...USER_STATUSES, PURGED] as const;
export type StoredUserStatus = (typeof STORED_USER_STATUSES)[number];

/** SCIM `active` as an IdP sees it. */
export const SCIM_ACTIVE_STATUSES: readonly StoredUserStatus[] = ['active', 'inactive', 'password_required'];

/** Who switched a user off; an IdP re-activation may only undo its own deactivation. */
export const DISABLED_BY = ['idp', 'operator'] as const;
export type DisabledBy = (typeof DISABLED_BY)[number];

/** The roles (the scopes operators know from their portal); the last two may operate the console and the admin API. */
export const USER_ROLES = [
  'basic_user',
  'call_center_agent',
  'call_center_supervisor',
  'office_manager',
  'admin',
] as const;
export type UserRole = (typeof USER_ROLES)[number];

export const OPERATOR_ROLES = ['office_manager', 'admin'] as const;
export type OperatorRole = (typeof OPERATOR_ROLES)[number];

export function isOperatorRole(role: string): role is OperatorRole {
  return (OPERATOR_ROLES as readonly string[]).includes(role);
}
