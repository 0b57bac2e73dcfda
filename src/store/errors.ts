/**
 * PostgreSQL errors that mean "try the same thing again" (SQLSTATE), as opposed to a bug or bad
 * data. Jobs retry these on their normal backoff; a request answers 503 for them.
 */
const RETRYABLE_SQLSTATES: Record<string, string> = {
  '40001': 'serialization_failure',
  '40P01': 'deadlock_detected',
  '55P03': 'lock_not_available',
  '57P01': 'admin_shutdown',
  '08000': 'connection_exception',
  '08003': 'connection_does_not_exist',
  '08006': 'connection_failure',
};

export function isRetryableDatabaseError(error: unknown): boolean {
  const code = (error as { code?: string })?.code;
  return typeof code === 'string' && code in RETRYABLE_SQLSTATES;
}

/** Integrity (class 23) and data (class 22) errors: the same statement will fail again. */
export function isPermanentDatabaseError(error: unknown): boolean {
  const code = (error as { code?: string })?.code;
  return typeof code === 'string' && /^2[23][0-9A-Z]{3}$/.test(code);
}

/** Constraint names that mean "this already exists", for clear 409s instead of 500s. */
export const UNIQUE_CONSTRAINTS: Record<string, string> = {
  users_tenant_username_key: 'userName is already taken in this tenant',
  groups_tenant_display_name_key: 'a group with this displayName already exists',
  phone_numbers_tenant_number_key: 'this number is already in the inventory',
  devices_user_client_id_key: 'this device is already registered',
  tenants_name_key: 'a tenant with this name already exists',
};
