import { scimError } from './errors.ts';
import { attributeKey } from './filter.ts';
import { ENTERPRISE_USER } from './schemas.ts';

/**
 * Every Okta and Microsoft Entra ID quirk turnover accepts, in one place, applied to a request
 * before SCIMMY sees it. Each rule names the client that sends the form (see
 * test/unit/scim.normalise.test.ts, one test per rule). The output is plain RFC 7643/7644 that
 * SCIMMY validates strictly.
 */
type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };
export interface PatchOperation {
  op: string;
  path?: string;
  value?: Json;
}

const isObject = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * RFC 7643 §2.5: a null is the same as an absent attribute. Entra sends `"title": null` for an
 * attribute it has no value for; SCIMMY would refuse a null in a multi-valued attribute.
 */
export function dropNulls<T extends Json>(value: T): T {
  if (Array.isArray(value)) return value.filter((v) => v !== null).map((v) => dropNulls(v)) as T;
  if (!isObject(value)) return value;
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(value)) if (v !== null) out[k] = dropNulls(v);
  return out as T;
}

/** Entra ID sends booleans as strings: `"active": "False"`, `"primary": "True"`. */
export function booleanFromString(value: Json): Json {
  if (typeof value === 'string' && /^(true|false)$/i.test(value.trim())) return value.trim().toLowerCase() === 'true';
  return value;
}

/**
 * Entra ID sets the manager as `[{"$ref": null, "value": "<id>"}]` or as a bare id string, and
 * clears it with an empty value; RFC 7643 §4.3 has one complex `{value}`. Returns undefined to
 * clear.
 */
export function managerValue(value: Json): JsonObject | undefined {
  const first = Array.isArray(value) ? value[0] : value;
  if (typeof first === 'string') return first.trim() ? { value: first.trim() } : undefined;
  if (isObject(first) && typeof first.value === 'string' && first.value.trim()) return { value: first.value.trim() };
  return undefined;
}

/**
 * Microsoft's SCIM validator asks for `attributes=emails[type eq "work"]`; RFC 7644 §3.9 names
 * attributes only, so the value filter is dropped and the whole attribute returned (more values
 * than asked for, never fewer).
 */
export function attributesWithoutValueFilters(raw: string): string {
  return raw.replace(/\[[^\]]*\]/g, '');
}

const ENTERPRISE_PREFIX = ENTERPRISE_USER.toLowerCase();
/** Boolean attributes a client may send as strings (core `active`, `primary` of multi-valued entries). */
const BOOLEAN_KEYS = new Set(['active']);
const MULTI_VALUED = new Set(['emails', 'phonenumbers', 'ims', 'photos', 'addresses', 'entitlements', 'roles', 'x509certificates']);

/** A User or Group body of POST or PUT, from either client. */
export function normaliseResourceBody(body: unknown): unknown {
  if (!isObject(body)) return body;
  const out = dropNulls(body);
  for (const [key, value] of Object.entries(out)) {
    const lower = key.toLowerCase();
    if (BOOLEAN_KEYS.has(lower)) out[key] = booleanFromString(value);
    if (MULTI_VALUED.has(lower) && Array.isArray(value)) out[key] = value.map(primaryFromString);
    if (lower === 'members' && Array.isArray(value)) out[key] = value.map(memberDisplay);
    if (lower === ENTERPRISE_PREFIX && isObject(value)) {
      const enterprise = { ...value };
      for (const k of Object.keys(enterprise)) {
        if (k.toLowerCase() !== 'manager') continue;
        const manager = managerValue(enterprise[k]!);
        if (manager) enterprise[k] = manager;
        else delete enterprise[k];
      }
      out[key] = enterprise;
    }
  }
  return out;
}

function primaryFromString(entry: Json): Json {
  return isObject(entry) && 'primary' in entry ? { ...entry, primary: booleanFromString(entry.primary!) } : entry;
}

/**
 * Microsoft's SCIM validator names a member's display `displayName` (`{"displayName": "new User",
 * "value": "<id>"}`); RFC 7643 §2.4 and SCIMMY's Group schema call it `display`.
 */
function memberDisplay(entry: Json): Json {
  if (!isObject(entry) || !('displayName' in entry)) return entry;
  const { displayName, ...rest } = entry;
  return 'display' in rest ? rest : { ...rest, display: displayName! };
}

/** Keys a client echoes back that the server owns (RFC 7643 §3.1, §4.1.2 `groups`). */
const SERVER_OWNED = new Set(['meta', 'schemas', 'groups']);

/**
 * A PatchOp body from either client, for the resource `resourceId`:
 * - Entra ID capitalises op names (`Replace`, `Add`, `Remove`).
 * - A path-less `replace`/`add` (Okta deactivation `{"value":{"active":false}}`, Okta group rename
 *   `{"value":{"id":..,"displayName":..}}`, Entra's dotted or URN-prefixed keys) becomes one op
 *   per key, so each key gets the rules below and `replace` replaces (RFC 7644 §3.5.2.3) instead
 *   of appending to multi-valued attributes. `id` equal to the resource's, `meta`, `schemas` and
 *   `groups` are dropped: read-only, echoed back.
 * - Entra ID's string booleans, manager forms (see managerValue), and a null or empty value on
 *   `replace` (a cleared attribute) become RFC forms: booleans, `{value}`, `remove`.
 */
export function normalisePatchBody(body: unknown, resourceId: string): unknown {
  if (!isObject(body)) throw scimError(400, 'invalidSyntax', 'A PATCH needs a PatchOp body.');
  // RFC 7644 §3.5.2: Operations is an array of objects, each with an op and, if any, a string path.
  // SCIMMY throws a TypeError (a 500) on a null or a number in the list, so the shape is checked here.
  if (body.Operations === undefined) return body; // SCIMMY's 400 names the missing list
  if (!Array.isArray(body.Operations)) throw scimError(400, 'invalidSyntax', "PATCH 'Operations' must be an array of operations.");
  const operations: Json[] = [];
  for (const [i, raw] of body.Operations.entries()) {
    if (!isObject(raw)) throw scimError(400, 'invalidSyntax', `PATCH operation ${i + 1} is not an object.`);
    if (typeof raw.op !== 'string') throw scimError(400, 'invalidSyntax', `PATCH operation ${i + 1} has no 'op'.`);
    if (raw.path !== undefined && typeof raw.path !== 'string') throw scimError(400, 'invalidPath', `PATCH operation ${i + 1} has a 'path' that is not text.`);
    const op = raw.op.toLowerCase();
    const path = typeof raw.path === 'string' ? raw.path.trim() : raw.path;
    if (path === undefined && (op === 'replace' || op === 'add') && isObject(raw.value)) {
      for (const [key, value] of Object.entries(raw.value)) {
        const lower = key.toLowerCase();
        if (SERVER_OWNED.has(lower)) continue;
        if (lower === 'id' && value === resourceId) continue;
        operations.push(...normaliseOperation(op, key, value));
      }
      continue;
    }
    operations.push(...normaliseOperation(op, path as string | undefined, raw.value));
  }
  return { ...body, Operations: operations };
}

const MANAGER_KEYS = new Set(['enterprise:manager', 'enterprise:manager.value', 'manager', 'manager.value']);

function normaliseOperation(op: string, path: string | undefined, value: Json | undefined): Json[] {
  const withValue = (v: Json | undefined): Json => (v === undefined ? { op, ...(path === undefined ? {} : { path }) } : { op, ...(path === undefined ? {} : { path }), value: v });
  if (path === undefined) return [withValue(value === undefined ? undefined : dropNulls(value))];
  const key = attributeKey(path);
  // Entra ID also names the manager without the extension's URN (`"path": "manager"`); the core
  // User schema has no `manager`, so the short name can only mean the enterprise one.
  if (MANAGER_KEYS.has(key)) {
    if (op === 'remove') return [{ op, path: `${ENTERPRISE_USER}:manager` }];
    const manager = key.endsWith('.value') && typeof value === 'string' ? managerValue(value) : managerValue(value ?? null);
    return manager ? [{ op: 'replace', path: `${ENTERPRISE_USER}:manager`, value: manager }] : [{ op: 'remove', path: `${ENTERPRISE_USER}:manager` }];
  }
  if (op === 'remove') return [withValue(value === undefined ? undefined : dropNulls(value))];
  if (op === 'replace' && (value === null || value === undefined || value === '')) return [{ op: 'remove', path }];
  if (value === null || value === undefined) return [{ op, path }]; // add without a value: SCIMMY's 400
  if (BOOLEAN_KEYS.has(key) || /\.primary$/.test(key)) return [withValue(booleanFromString(value))];
  if (MULTI_VALUED.has(key) && Array.isArray(value)) return [withValue(dropNulls(value).map(primaryFromString))];
  if (key === 'members' && Array.isArray(value)) return [withValue(dropNulls(value).map(memberDisplay))];
  return [withValue(dropNulls(value))];
}

/**
 * Rules that need the current resource. Entra ID sets a user's work email with
 * `{"op":"Add","path":"emails[type eq \"work\"].value","value":"x"}` also when the user has no
 * work email yet; RFC 7644 would answer 400 noTarget, so a missing entry is added instead. When
 * entries match, the path addresses every one of them (RFC 7644 §3.5.2) and SCIMMY sets them all.
 */
export function normalisePatchForResource(operations: PatchOperation[], current: Record<string, unknown>): PatchOperation[] {
  return operations.map((operation) => {
    if (!isObject(operation) || typeof operation.op !== 'string') return operation; // SCIMMY answers it
    const op = operation.op.toLowerCase();
    const match = /^(\w+)\[\s*type\s+eq\s+"([^"]*)"\s*\]\.(\w+)$/i.exec(operation.path ?? '');
    if (!match || (op !== 'add' && op !== 'replace') || operation.value === undefined) return operation;
    const [, attribute, type, sub] = match as unknown as [string, string, string, string];
    const entries = current[Object.keys(current).find((k) => k.toLowerCase() === attribute.toLowerCase()) ?? attribute];
    const exists = Array.isArray(entries) && entries.some((e) => isObject(e) && String(e.type ?? '').toLowerCase() === type.toLowerCase());
    if (exists) return operation;
    return { op: 'add', path: attribute, value: [{ type, [sub]: operation.value }] };
  });
}
