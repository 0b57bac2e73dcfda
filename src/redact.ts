import { DriverException } from '@mikro-orm/core';

/**
 * What must never reach a log line: credentials in URLs, and the values inside database errors.
 * Pure functions; src/log.ts applies them to every logger through its serializers.
 */

export const REDACTED = '[redacted]';

/**
 * Query (and fragment) parameters that carry a credential, by name: compared case-insensitively
 * with everything but letters and digits dropped, so `access_token`, `X-Amz-Signature` and
 * `apiKey` match. Exact names are the short ones too generic to match as a suffix.
 */
const SECRET_PARAM_NAMES = new Set([
  'token', 'code', 'key', 'sig', 'pin', 'otp', 'pwd', 'passwd', 'auth', 'authorization', 'session', 'sessionid',
  'jwt', 'assertion', 'ticket', 'confirm', 'samlresponse',
]);
const SECRET_PARAM_SUFFIXES = ['token', 'secret', 'password', 'signature', 'apikey', 'credential', 'credentials'];

export function isSecretParam(rawName: string): boolean {
  let name = rawName.replace(/\+/g, ' ');
  try {
    name = decodeURIComponent(name);
  } catch {
    // A malformed escape: judge the name as written.
  }
  // `token[]=` and `token[a]=` are the same parameter to a qs-style parser.
  name = name.replace(/\[.*$/, '').toLowerCase().replace(/[^a-z0-9]/g, '');
  return SECRET_PARAM_NAMES.has(name) || SECRET_PARAM_SUFFIXES.some((suffix) => name.endsWith(suffix));
}

function redactParams(params: string): string {
  return params
    .split('&')
    .map((part) => {
      const eq = part.indexOf('=');
      return eq > 0 && isSecretParam(part.slice(0, eq)) ? `${part.slice(0, eq)}=${REDACTED}` : part;
    })
    .join('&');
}

/**
 * A URL (a request target like `/set-password?token=...`, or an absolute URL) with the value of
 * every secret-bearing parameter and any user:password replaced by `[redacted]`; everything else
 * is kept exactly as written.
 */
export function redactUrl(url: string): string {
  let out = url.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/?#@]*@/i, `$1${REDACTED}@`);
  const hash = out.indexOf('#');
  let fragment = '';
  if (hash >= 0) {
    fragment = `#${redactParams(out.slice(hash + 1))}`;
    out = out.slice(0, hash);
  }
  const question = out.indexOf('?');
  if (question >= 0) out = `${out.slice(0, question + 1)}${redactParams(out.slice(question + 1))}`;
  return out + fragment;
}

// ---- database errors ------------------------------------------------------------------------

/**
 * The fields of a PostgreSQL error that name it without holding a value: the SQLSTATE, where it
 * happened and the objects involved. `detail` (the failing row, the duplicate key), `where`,
 * `internalQuery` and any query parameters are left out.
 */
const DATABASE_ERROR_FIELDS = ['code', 'severity', 'routine', 'schema', 'table', 'column', 'dataType', 'constraint'] as const;

const SQLSTATE = /^[0-9A-Z]{5}$/;
/** knex (under MikroORM) prefixes a failed query's error message with the statement, values inlined. */
const STATEMENT_PREFIX = /^\s*(?:select|insert|update|delete|with|begin|commit|rollback|savepoint|release|set|lock|listen|unlisten|notify|create|alter|drop|truncate|copy|explain|values|call|do)\b[\s\S]* - /i;
const STRING_LITERAL = /'(?:[^']|'')*'/g;
const NUMBER_LITERAL = /(?<![\w$."])\d+(?:\.\d+)?(?![\w"])/g;
const QUOTED = /"((?:[^"]|"")*)"/g;

interface ErrorLike {
  message: string;
  stack?: string;
  [key: string]: unknown;
}

function isErrorLike(value: unknown): value is ErrorLike {
  return typeof value === 'object' && value !== null && typeof (value as { message?: unknown }).message === 'string';
}

/** A PostgreSQL error (from pg, or converted by MikroORM), or any error knex gave a statement to. */
export function isDatabaseError(error: unknown): boolean {
  if (!isErrorLike(error)) return false;
  if (error instanceof DriverException) return true;
  if (typeof error.code === 'string' && SQLSTATE.test(error.code) && typeof error.severity === 'string') return true;
  return STATEMENT_PREFIX.test(error.message);
}

/**
 * A database error's message without any value: the statement keeps its shape with every literal
 * as `?`, the server's message keeps the names it quotes only when the error names them as its
 * table, column, constraint or type (a quoted value, as in `invalid input syntax for type uuid:
 * "..."`, becomes `"?"`), and MikroORM's appended detail (the failing row) and hint are dropped.
 */
export function redactDatabaseMessage(message: string, names: Iterable<string> = []): string {
  const known = new Set(names);
  const first = message.split(/\n - (?:detail|hint): /)[0]!.replace(STRING_LITERAL, '?');
  const cut = first.lastIndexOf(' - ');
  const hasStatement = cut >= 0 && STATEMENT_PREFIX.test(first);
  const statement = hasStatement ? first.slice(0, cut).replace(NUMBER_LITERAL, '?') : null;
  const server = (hasStatement ? first.slice(cut + 3) : first).replace(QUOTED, (quoted, name: string) => (known.has(name) ? quoted : '"?"'));
  return statement === null ? server : `${statement} - ${server}`;
}

/** The same error (same class, so the log's `type` is kept) holding only what names it. */
function safeDatabaseError(error: ErrorLike): ErrorLike {
  const safe = Object.create(Object.getPrototypeOf(error)) as ErrorLike;
  const names: string[] = [];
  for (const field of DATABASE_ERROR_FIELDS) {
    const value = error[field];
    if (value === undefined || value === null) continue;
    safe[field] = value;
    if (field !== 'code' && field !== 'severity' && field !== 'routine' && typeof value === 'string') names.push(value);
  }
  const message = redactDatabaseMessage(error.message, names);
  const name = typeof error.name === 'string' ? error.name : 'Error';
  // The stack's first lines repeat the message; only its frames are kept.
  const frames = (error.stack ?? '').split('\n').filter((line) => /^\s+at /.test(line));
  Object.defineProperty(safe, 'message', { value: message, enumerable: false, writable: true, configurable: true });
  Object.defineProperty(safe, 'stack', { value: [`${name}: ${message}`, ...frames].join('\n'), enumerable: false, writable: true, configurable: true });
  return safe;
}

/**
 * An error with every database error in it (itself, its `cause`, an AggregateError's `errors`,
 * an error-valued property) replaced by its safe form; the error itself when it holds none.
 */
export function redactError(error: unknown, seen = new Map<object, unknown>()): unknown {
  if (!isErrorLike(error)) return error;
  if (seen.has(error)) return seen.get(error);
  if (isDatabaseError(error)) {
    const safe = safeDatabaseError(error);
    seen.set(error, safe);
    return safe;
  }
  seen.set(error, error);
  const replaced = new Map<string, unknown>();
  for (const key of new Set(['cause', 'errors', ...Object.keys(error)])) {
    const value = error[key];
    const next = Array.isArray(value) ? redactArray(value, seen) : redactError(value, seen);
    if (next !== value) replaced.set(key, next);
  }
  if (!replaced.size) return error;
  const copy = Object.create(Object.getPrototypeOf(error)) as ErrorLike;
  Object.defineProperties(copy, Object.getOwnPropertyDescriptors(error));
  for (const [key, value] of replaced) {
    const enumerable = Object.getOwnPropertyDescriptor(error, key)?.enumerable ?? true;
    Object.defineProperty(copy, key, { value, enumerable, writable: true, configurable: true });
  }
  seen.set(error, copy);
  return copy;
}

function redactArray(values: unknown[], seen: Map<object, unknown>): unknown[] {
  const next = values.map((v) => redactError(v, seen));
  return next.some((v, i) => v !== values[i]) ? next : values;
}

// ---- SCIM filters ---------------------------------------------------------------------------

/** `attrPath op "value"` in a SCIM filter (RFC 7644 §3.4.2.2); the value as written, quotes and escapes included. */
const FILTER_COMPARISON = /([A-Za-z][\w$.:-]*)(\s+(?:eq|ne|co|sw|ew|gt|ge|lt|le)\s+)("(?:[^"\\]|\\.)*")/gi;

/**
 * A SCIM filter with the value compared to any secret-named attribute (`password eq "..."`,
 * judged by isSecretParam on the attribute's last name) replaced by `"[redacted]"`; the rest kept
 * as written, so an operator still reads which user a lookup was for.
 */
export function redactScimFilter(filter: string): string {
  return filter.replace(FILTER_COMPARISON, (whole, attribute: string, op: string) => {
    const name = attribute.split(/[.:]/).at(-1) ?? attribute;
    return isSecretParam(name) ? `${attribute}${op}"${REDACTED}"` : whole;
  });
}
