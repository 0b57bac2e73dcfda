/**
 * PostgreSQL errors that mean "try the same thing again" (SQLSTATE), as opposed to a bug or bad
 * data. Jobs retry these on their normal backoff; a request answers 503 with Retry-After for them,
 * so an identity provider retries later instead of taking a 500 (or a 404) as an answer.
 */
const RETRYABLE_SQLSTATES: Record<string, string> = {
  '40001': 'serialization_failure',
  '40P01': 'deadlock_detected',
  '55P03': 'lock_not_available',
  // "database is not currently accepting connections" (ALLOW_CONNECTIONS false, a restore).
  '55000': 'object_not_in_prerequisite_state',
  '57P01': 'admin_shutdown',
  '57P02': 'crash_shutdown',
  '57P03': 'cannot_connect_now',
  '53000': 'insufficient_resources',
  '53100': 'disk_full',
  '53200': 'out_of_memory',
  '53300': 'too_many_connections',
  '58000': 'system_error',
  '58030': 'io_error',
};

/**
 * Class 08, connection exceptions, whatever the subclass, except 08P01 protocol_violation: that
 * one is our data (a NUL in a bound parameter), and the same statement would fail again.
 */
const CONNECTION_CLASS = /^08(?!P01)[0-9A-Z]{3}$/;

/** The server cannot be reached at all: errors of the socket, not of PostgreSQL. */
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ECONNABORTED']);

/** What pg and knex throw without a code when a connection breaks or none can be had in time. */
const UNAVAILABLE_MESSAGES = /Connection terminated|connection timeout|timeout exceeded when trying to connect|Timeout acquiring a connection|Client has encountered a connection error|Connection ended/i;

export function isRetryableDatabaseError(error: unknown): boolean {
  for (let e = error as { code?: unknown; message?: unknown; name?: unknown; cause?: unknown } | undefined, hops = 0; e && hops < 4; e = e.cause as typeof e, hops++) {
    const code = typeof e.code === 'string' ? e.code : undefined;
    if (code && (code in RETRYABLE_SQLSTATES || CONNECTION_CLASS.test(code) || NETWORK_CODES.has(code))) return true;
    if (e.name === 'KnexTimeoutError' || (typeof e.message === 'string' && !code && UNAVAILABLE_MESSAGES.test(e.message))) return true;
  }
  return false;
}

/** Integrity (class 23) and data (class 22) errors: the same statement will fail again. */
export function isPermanentDatabaseError(error: unknown): boolean {
  const code = (error as { code?: string })?.code;
  return typeof code === 'string' && /^2[23][0-9A-Z]{3}$/.test(code);
}

/** Seconds a client is told to wait (Retry-After) when the database is unavailable. */
export const RETRY_AFTER_SECONDS = 5;

/** Constraint names that mean "this already exists", for clear 409s instead of 500s. */
export const UNIQUE_CONSTRAINTS: Record<string, string> = {
  users_tenant_username_key: 'userName is already taken in this tenant',
  groups_tenant_display_name_key: 'a group with this displayName already exists',
  phone_numbers_tenant_number_key: 'this number is already in the inventory',
  devices_user_client_id_key: 'this device is already registered',
  tenants_name_key: 'a tenant with this name already exists',
};

/**
 * A database error as a request should answer it, decided once for every API (each renders it in
 * its own format): the database unavailable, a known uniqueness, a broken check, or a value the
 * database cannot hold (class 22: too long, out of range, bad encoding). Null: a bug (a 500).
 */
export type DatabaseRefusal =
  | { kind: 'unavailable' }
  | { kind: 'unique'; constraint: string; message: string }
  | { kind: 'check'; constraint: string }
  | { kind: 'invalid_value'; sqlState: string };

export function classifyDatabaseError(error: unknown): DatabaseRefusal | null {
  if (isRetryableDatabaseError(error)) return { kind: 'unavailable' };
  const e = error as { code?: string; constraint?: string };
  if (e?.code === '23505' && e.constraint && e.constraint in UNIQUE_CONSTRAINTS) {
    return { kind: 'unique', constraint: e.constraint, message: UNIQUE_CONSTRAINTS[e.constraint]! };
  }
  if (e?.code === '23514' && e.constraint) return { kind: 'check', constraint: e.constraint };
  if (typeof e?.code === 'string' && (/^22[0-9A-Z]{3}$/.test(e.code) || e.code === '08P01')) return { kind: 'invalid_value', sqlState: e.code };
  return null;
}
