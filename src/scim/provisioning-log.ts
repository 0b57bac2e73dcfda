import { performance } from 'node:perf_hooks';
import type { Request, RequestHandler, Response } from 'express';
import type { ProvisioningOutcome } from '../store/entities/index.ts';
import type { ProvisioningLogRow } from '../store/provisioning-log.ts';
import { redactScimFilter } from '../redact.ts';
import type { ScimAuth } from './auth.ts';
import type { ScimFailure } from './errors.ts';
import type { ProvisioningLogWriter } from './provisioning-log-writer.ts';

/**
 * The provisioning log, as Entra's provisioning logs and Okta's System Log give it: one row per
 * SCIM request (and per operation of a bulk request) with the IdP connection (the SCIM token),
 * what it touched, how it ended and the client's request id. The router mounts
 * `recordProvisioning` first; the row is built when the response has been sent and handed to the
 * writer's buffer (provisioning-log-writer.ts), so the request never waits for it.
 *
 * Never stored: bodies, passwords, tokens. Kept from a body: the userName or displayName it names
 * and the names of the attributes it sets. A list's filter is kept with secret-named attributes'
 * values redacted. A request without a valid token has no tenant to file it under and is left out
 * (turnover_http_requests_total counts it).
 */

/** What the middleware leaves on `res.locals.provisioning` for the request's handlers (the bulk code). */
interface RequestRecord {
  writer: ProvisioningLogWriter;
  at: Date;
  started: number;
  requestId: string | null;
}

/** The failure sendScimError answered, read back here for its scimType and detail. */
const FAILURE = 'scimFailure';

export function noteScimFailure(res: Response, failure: Pick<ScimFailure, 'status' | 'scimType' | 'detail'>): void {
  res.locals[FAILURE] = failure;
}

/** Mounted first on the SCIM router: a row for every authenticated request once its response is sent. */
export function recordProvisioning(writer: ProvisioningLogWriter): RequestHandler {
  return (req, res, next) => {
    const record: RequestRecord = { writer, at: new Date(), started: performance.now(), requestId: requestIdOf(req) };
    res.locals.provisioning = record;
    // The path below /scim/v2, read now: routers below rewrite req.url while they run.
    const path = req.path;
    res.once('finish', () => {
      const auth = res.locals.scim as ScimAuth | undefined;
      if (!auth) return;
      const failure = res.locals[FAILURE] as Pick<ScimFailure, 'scimType' | 'detail'> | undefined;
      const described = describeScimRequest(req.method, path);
      const location = res.getHeader('location');
      const createdId = described.operation === 'create' && typeof location === 'string' ? uuidIn(location.split('/').at(-1)) : null;
      writer.record(
        rowOf(record, auth, {
          method: req.method,
          path,
          ...described,
          resourceId: described.resourceId ?? createdId,
          body: req.body,
          query: req.query as Record<string, unknown>,
          status: res.statusCode,
          failure,
        }),
      );
    });
    next();
  };
}

/** One operation of a SCIM request as the log describes it (a bulk request's operations, one by one). */
export interface ScimOperationRecord {
  method: string;
  /** The operation's path below /scim/v2 (`/Users`, `/Users/<id>`). */
  path: string;
  status: number;
  /** The operation's request body, read for names only. */
  body?: unknown;
  /** The resource's id when the path has none (a create's new id). */
  resourceId?: string | null;
  failure?: Pick<ScimFailure, 'scimType' | 'detail'>;
  /** `performance.now()` when the operation began; by default when the request did. */
  startedAt?: number;
}

/**
 * A row for one operation of the request `res` answers: for /Bulk, call it once per operation
 * (after the operation ran); the request's own row is written as well, as `Bulk`. Does nothing
 * when the request has no valid token.
 */
export function recordScimOperation(res: Response, operation: ScimOperationRecord): void {
  const record = res.locals.provisioning as RequestRecord | undefined;
  const auth = res.locals.scim as ScimAuth | undefined;
  if (!record || !auth) return;
  const described = describeScimRequest(operation.method, operation.path);
  record.writer.record(
    rowOf(operation.startedAt === undefined ? record : { ...record, started: operation.startedAt }, auth, {
      ...operation,
      ...described,
      resourceId: described.resourceId ?? uuidIn(operation.resourceId ?? undefined),
      query: {},
    }),
  );
}

function rowOf(
  record: RequestRecord,
  auth: ScimAuth,
  r: ReturnType<typeof describeScimRequest> & { method: string; path: string; body?: unknown; query: Record<string, unknown>; status: number; failure?: Pick<ScimFailure, 'scimType' | 'detail'> | undefined },
): ProvisioningLogRow {
  const body = isObject(r.body) ? r.body : {};
  const filter = r.operation === 'list' ? (typeof r.query.filter === 'string' ? r.query.filter : typeof body.filter === 'string' ? body.filter : null) : null;
  return {
    tenantId: auth.tenantId,
    at: record.at,
    tokenId: auth.tokenId,
    method: r.method.toUpperCase(),
    path: text(r.path, 300) ?? '/',
    resourceType: r.resourceType,
    operation: r.operation,
    resourceId: r.resourceId,
    resourceName: r.resourceType === 'User' || r.resourceType === 'Group' ? text(nameIn(r.resourceType, r.operation, body), 256) : null,
    status: r.status,
    outcome: outcomeOf(r.status),
    scimType: text(r.failure?.scimType, 50),
    detail: r.status >= 400 ? text(r.failure?.detail, 1000) : null,
    requestId: record.requestId,
    durationMs: Math.round((performance.now() - record.started) * 100) / 100,
    filter: filter === null ? null : text(redactScimFilter(filter), 1000),
    attributes: r.operation === 'create' || r.operation === 'replace' || r.operation === 'patch' ? attributesIn(r.operation, body) : null,
  };
}

export function outcomeOf(status: number): ProvisioningOutcome {
  return status < 400 ? 'ok' : status < 500 ? 'client_error' : 'server_error';
}

type Described = { resourceType: string | null; operation: string | null; resourceId: string | null };

const ITEM_OPERATIONS: Record<string, string | undefined> = { GET: 'get', PUT: 'replace', PATCH: 'patch', DELETE: 'delete' };
const OTHER_RESOURCES: Record<string, string | undefined> = {
  bulk: 'Bulk',
  schemas: 'Schema',
  resourcetypes: 'ResourceType',
  serviceproviderconfig: 'ServiceProviderConfig',
  me: 'Me',
};

/** Resource type, operation and id from a request's method and path below /scim/v2. */
export function describeScimRequest(method: string, path: string): Described {
  const [first, second, ...rest] = path.split('/').filter(Boolean);
  const kind = first?.toLowerCase();
  const verb = method.toUpperCase();
  if (kind === 'users' || kind === 'groups') {
    const resourceType = kind === 'users' ? 'User' : 'Group';
    if (rest.length) return { resourceType, operation: null, resourceId: null };
    if (second === undefined) return { resourceType, operation: verb === 'GET' ? 'list' : verb === 'POST' ? 'create' : null, resourceId: null };
    if (second === '.search') return { resourceType, operation: verb === 'POST' ? 'list' : null, resourceId: null };
    const operation = ITEM_OPERATIONS[verb] ?? null;
    return { resourceType, operation, resourceId: uuidIn(second) };
  }
  return { resourceType: OTHER_RESOURCES[kind ?? ''] ?? null, operation: null, resourceId: null };
}

/** The userName (users) or displayName (groups) a create, replace or patch names. */
function nameIn(resourceType: 'User' | 'Group', operation: string | null, body: Record<string, unknown>): unknown {
  const key = resourceType === 'User' ? 'userName' : 'displayName';
  if (operation === 'create' || operation === 'replace') return body[key];
  if (operation !== 'patch' || !Array.isArray(body.Operations)) return undefined;
  for (const op of body.Operations as unknown[]) {
    if (!isObject(op)) continue;
    if (typeof op.path === 'string' && op.path.toLowerCase() === key.toLowerCase()) return op.value;
    if (op.path === undefined && isObject(op.value) && typeof op.value[key] === 'string') return op.value[key];
  }
  return undefined;
}

const MAX_ATTRIBUTES = 50;

/**
 * The attributes a write sets, by name only (Entra's "modified properties"): a PATCH's paths with
 * their filters dropped (`emails[type eq "work"].value` -> `emails.value`), or the keys of its
 * values; a create's or replace's top-level attributes. An extension's attributes by their own
 * names (`department`, not the schema URN).
 */
export function attributesIn(operation: 'create' | 'replace' | 'patch', body: Record<string, unknown>): string[] {
  const names = new Set<string>();
  const keysOf = (value: Record<string, unknown>) => {
    for (const [key, inner] of Object.entries(value)) {
      if (key === 'schemas' || key === 'id' || key === 'meta') continue;
      if (/^urn:/i.test(key) && isObject(inner)) for (const sub of Object.keys(inner)) names.add(sub);
      else names.add(key);
    }
  };
  if (operation !== 'patch') keysOf(body);
  else if (Array.isArray(body.Operations)) {
    for (const op of body.Operations as unknown[]) {
      if (!isObject(op)) continue;
      if (typeof op.path === 'string' && op.path) {
        const path = op.path.replace(/\[[^\]]*\]/g, '');
        // `urn:...:User:department` -> `department`
        names.add(/^urn:/i.test(path) ? path.slice(path.lastIndexOf(':') + 1) : path);
      } else if (isObject(op.value)) keysOf(op.value);
    }
  }
  return [...names].map((n) => text(n, 100)!).filter(Boolean).slice(0, MAX_ATTRIBUTES);
}

/** Entra sends `client-request-id`; other clients and proxies `x-request-id`. */
function requestIdOf(req: Request): string | null {
  return text(req.get('client-request-id') ?? req.get('x-request-id'), 128);
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
function uuidIn(value: string | undefined): string | null {
  return value && UUID.test(value) ? value.toLowerCase() : null;
}

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;
// eslint-disable-next-line no-control-regex
const CONTROLS = /[\u0000-\u001f\u007f]/g;

/** A string fit for a text column: control characters (NUL above all) dropped, trimmed, at most `max` long. */
function text(value: unknown, max: number): string | null {
  if (typeof value !== 'string') return null;
  const clean = (CONTROL.test(value) ? value.replace(CONTROLS, '') : value).trim();
  return clean ? clean.slice(0, max) : null;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
