import type { RequestHandler } from 'express';
import { recordScimOperation } from './provisioning-log.ts';
import { jsonBody } from '../input-guard.ts';
import type { ScimAuth } from './auth.ts';
import type { ScimOperationInput, ScimOutcome } from './context.ts';
import { scimError, scimErrorBody, sendScimError, toScimFailure, type ScimErrorBody, type ScimFailure } from './errors.ts';
import { MAX_BULK_OPERATIONS, MAX_BULK_PAYLOAD } from './schemas.ts';

/**
 * POST /Bulk (RFC 7644 §3.7): an HR system's batch push. Each operation runs through the very
 * route operation of its single request (router.ts `perform`), as its own request and its own
 * transaction: a bulk is not atomic (§3.7), and every effect of a single request happens, the
 * lifecycle events, outbox tasks and audit entries, and the mass-deprovision guard, which counts
 * the committed deprovisionings before each one and so sees every earlier one of the bulk.
 *
 * Choices where the RFC leaves room, all decided before anything runs (nothing half done):
 * - A malformed request, any malformed operation (method, path, bulkId, data) or a reference to a
 *   bulkId no POST of the request declares is 400 for the whole request.
 * - `bulkId:<id>` in a path (`/Users/bulkId:u1`) or as a whole string value anywhere in `data`
 *   (group members, the enterprise manager, PATCH values) is the id of the resource that POST
 *   created. Operations run in the order sent, except that a POST referenced by an earlier
 *   operation runs first, and that consecutive independent user creates run side by side
 *   (nextRun); §3.7 lets the provider reorder when the result is the same.
 * - A circular reference (§3.7.1) can only be users managing each other (groups hold no groups):
 *   the whole request is 409, as §3.7.1 allows, with the cycle in its detail.
 * - An operation whose referenced POST failed fails with 400 invalidValue and counts as an error.
 * - `failOnErrors` n stops after the n-th failed operation; absent or 0, every operation runs.
 * - Past maxOperations or maxPayloadSize: 413 naming the limit (§3.7.4).
 */
export const BULK_REQUEST = 'urn:ietf:params:scim:api:messages:2.0:BulkRequest';
export const BULK_RESPONSE = 'urn:ietf:params:scim:api:messages:2.0:BulkResponse';

const METHODS = ['POST', 'PUT', 'PATCH', 'DELETE'] as const;
type BulkMethod = (typeof METHODS)[number];
type ResourceName = 'User' | 'Group';
type BulkOperationName = 'create' | 'replace' | 'patch' | 'delete';
const OPERATION_OF: Record<BulkMethod, BulkOperationName> = { POST: 'create', PUT: 'replace', PATCH: 'patch', DELETE: 'delete' };
const ENDPOINTS: Record<string, ResourceName> = { Users: 'User', Groups: 'Group' };
const REFERENCE = /^bulkId:(.+)$/;

/** One operation of a BulkRequest, checked. */
export interface BulkOperation {
  method: BulkMethod;
  resource: ResourceName;
  /** `/Users` or `/Groups`. */
  endpoint: string;
  /** The target's id as sent, possibly `bulkId:<id>`; none for POST. */
  id?: string;
  bulkId?: string;
  version?: string;
  data?: Record<string, unknown>;
  /** The bulkIds this operation needs resolved, in its path or its data. */
  references: string[];
}

export interface BulkPlan {
  operations: BulkOperation[];
  /** Indexes into `operations`, in the order they run. */
  order: number[];
  /** Stop after this many failed operations. */
  failOnErrors: number;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Every `bulkId:<id>` string in a value, by the id. */
function referencesIn(value: unknown, found: Set<string>): Set<string> {
  if (typeof value === 'string') {
    const match = REFERENCE.exec(value);
    if (match) found.add(match[1]!);
  } else if (Array.isArray(value)) for (const v of value) referencesIn(v, found);
  else if (isObject(value)) for (const v of Object.values(value)) referencesIn(v, found);
  return found;
}

/** `value` with each `bulkId:<id>` string replaced by the id that POST created. */
export function resolveReferences<T>(value: T, ids: ReadonlyMap<string, string>): T {
  if (typeof value === 'string') {
    const match = REFERENCE.exec(value);
    return (match && ids.has(match[1]!) ? ids.get(match[1]!) : value) as T;
  }
  if (Array.isArray(value)) return value.map((v) => resolveReferences(v, ids)) as T;
  if (isObject(value)) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, resolveReferences(v, ids)])) as T;
  return value;
}

function parseOperation(raw: unknown, n: number): BulkOperation {
  const at = `Operations[${n}]`;
  if (!isObject(raw)) throw scimError(400, 'invalidSyntax', `${at} is not an object.`);
  const method = typeof raw.method === 'string' ? raw.method.toUpperCase() : raw.method;
  if (!METHODS.includes(method as BulkMethod)) throw scimError(400, 'invalidValue', `${at}.method must be one of ${METHODS.join(', ')}.`);
  const m = method as BulkMethod;
  if (typeof raw.path !== 'string') throw scimError(400, 'invalidSyntax', `${at}.path must be a resource path such as /Users or /Users/<id>.`);
  const path = /^\/(Users|Groups)(?:\/([^/?#]+))?\/?$/.exec(raw.path);
  if (!path) throw scimError(400, 'invalidValue', `${at}.path '${raw.path.slice(0, 100)}' is not /Users, /Groups or one of their resources.`);
  const [, endpoint, id] = path as unknown as [string, string, string | undefined];
  if (m === 'POST' && id !== undefined) throw scimError(400, 'invalidValue', `${at}: a POST goes to /${endpoint}, not to a resource.`);
  if (m !== 'POST' && id === undefined) throw scimError(400, 'invalidValue', `${at}: a ${m} needs a resource path, /${endpoint}/<id>.`);
  if (raw.bulkId !== undefined && (typeof raw.bulkId !== 'string' || !raw.bulkId.trim())) throw scimError(400, 'invalidValue', `${at}.bulkId must be a non-empty string.`);
  if (m === 'POST' && raw.bulkId === undefined) throw scimError(400, 'invalidSyntax', `${at}: a POST needs a bulkId.`);
  if (raw.version !== undefined && typeof raw.version !== 'string') throw scimError(400, 'invalidValue', `${at}.version must be a string (an ETag).`);
  if (m !== 'DELETE' && !isObject(raw.data)) throw scimError(400, 'invalidSyntax', `${at}.data must be the ${m === 'PATCH' ? 'PatchOp' : 'resource'} of the operation.`);
  const references = referencesIn(m === 'DELETE' ? undefined : raw.data, new Set());
  const target = id === undefined ? null : REFERENCE.exec(id);
  if (target) references.add(target[1]!);
  return {
    method: m,
    resource: ENDPOINTS[endpoint]!,
    endpoint: `/${endpoint}`,
    ...(id === undefined ? {} : { id }),
    ...(typeof raw.bulkId === 'string' ? { bulkId: raw.bulkId } : {}),
    ...(typeof raw.version === 'string' ? { version: raw.version } : {}),
    ...(m !== 'DELETE' ? { data: raw.data as Record<string, unknown> } : {}),
    references: [...references],
  };
}

/** The BulkRequest checked and its run order decided, or the SCIM error for the whole request. */
export function parseBulkRequest(body: unknown, maxOperations = MAX_BULK_OPERATIONS): BulkPlan {
  if (!isObject(body)) throw scimError(400, 'invalidSyntax', 'A /Bulk request needs a BulkRequest body.');
  if (!Array.isArray(body.schemas) || !body.schemas.includes(BULK_REQUEST)) throw scimError(400, 'invalidSyntax', `A BulkRequest's schemas must include '${BULK_REQUEST}'.`);
  const { failOnErrors } = body;
  if (failOnErrors !== undefined && !(Number.isInteger(failOnErrors) && (failOnErrors as number) >= 0)) {
    throw scimError(400, 'invalidValue', "'failOnErrors' must be a whole number of errors (0 or more).");
  }
  if (!Array.isArray(body.Operations)) throw scimError(400, 'invalidSyntax', "A BulkRequest's 'Operations' must be an array of operations.");
  if (body.Operations.length === 0) throw scimError(400, 'invalidValue', "A BulkRequest's 'Operations' is empty.");
  if (body.Operations.length > maxOperations) {
    throw scimError(413, undefined, `The bulk request has ${body.Operations.length} operations, more than maxOperations (${maxOperations}).`);
  }
  const operations = body.Operations.map(parseOperation);
  const creator = new Map<string, number>();
  operations.forEach((op, i) => {
    if (op.method !== 'POST') return;
    if (creator.has(op.bulkId!)) throw scimError(400, 'invalidValue', `Operations[${i}].bulkId '${op.bulkId}' is also the bulkId of Operations[${creator.get(op.bulkId!)}].`);
    creator.set(op.bulkId!, i);
  });
  operations.forEach((op, i) => {
    const unknown = op.references.find((ref) => !creator.has(ref));
    if (unknown !== undefined) throw scimError(400, 'invalidValue', `Operations[${i}] refers to bulkId:${unknown}, which no POST of this request declares.`);
  });
  return { operations, order: runOrder(operations, creator), failOnErrors: (failOnErrors as number | undefined) || Infinity };
}

/** Request order, each POST moved before the first operation that needs it; a cycle is 409. */
function runOrder(operations: BulkOperation[], creator: ReadonlyMap<string, number>): number[] {
  const order: number[] = [];
  const state = new Map<number, 'running' | 'done'>();
  const visit = (i: number, chain: number[]) => {
    if (state.get(i) === 'done') return;
    if (state.get(i) === 'running') {
      const cycle = [...chain.slice(chain.indexOf(i)), i].map((j) => `bulkId:${operations[j]!.bulkId}`).join(' -> ');
      throw scimError(409, undefined, `Circular bulkId references (${cycle}): create one of them first, then set the reference.`);
    }
    state.set(i, 'running');
    for (const ref of operations[i]!.references) visit(creator.get(ref)!, [...chain, i]);
    state.set(i, 'done');
    order.push(i);
  };
  operations.forEach((_op, i) => visit(i, []));
  return order;
}

/** One operation's entry in the BulkResponse (§3.7.3): `status` as a string, as the RFC's examples. */
export interface BulkResult {
  method: BulkMethod;
  bulkId?: string;
  version?: string;
  location?: string;
  status: string;
  response?: ScimErrorBody;
}

/** What the router runs for an operation: the route operation of its single request. */
export interface BulkStep {
  resource: ResourceName;
  name: BulkOperationName;
  method: BulkMethod;
  /** The operation's path with its references resolved, for the log. */
  path: string;
  input: ScimOperationInput;
}

export type RunBulkStep = (step: BulkStep) => Promise<{ outcome: ScimOutcome } | { failure: ScimFailure } | { unauthorized: true }>;

/**
 * User creates that may run side by side: consecutive in the run order, with every reference
 * already resolved, no two with the same userName or externalId (the first must win, as in
 * order), and no more than the errors still allowed (every one of them would have run in order
 * too). Together they share statements (create-batch.ts). On the loaded development machine
 * (bench/scim.ts) 1,000 creates ran at 72 a second one by one, and at 79 to 123 side by side,
 * 2.7x to 3.6x single POST /Users requests one after another in the same run.
 */
const SIDE_BY_SIDE = 16;

function nextRun(plan: BulkPlan, from: number, ids: ReadonlyMap<string, string>, errorsAllowed: number): number[] {
  const first = plan.order[from]!;
  const names = new Set<string>();
  const batch: number[] = [];
  for (let k = from; k < plan.order.length && batch.length < Math.min(SIDE_BY_SIDE, errorsAllowed); k++) {
    const op = plan.operations[plan.order[k]!]!;
    const keys = [`userName:${String(op.data?.userName).toLowerCase()}`, ...(op.data?.externalId === undefined ? [] : [`externalId:${String(op.data.externalId)}`])];
    const independent = op.method === 'POST' && op.resource === 'User' && typeof op.data?.userName === 'string' && op.references.every((ref) => ids.has(ref));
    if (!independent || keys.some((key) => names.has(key))) break;
    keys.forEach((key) => names.add(key));
    batch.push(plan.order[k]!);
  }
  return batch.length ? batch : [first];
}

/** Runs the plan's operations in its order (see nextRun); the BulkResponse lists the ones that ran, in request order. */
export async function runBulk(plan: BulkPlan, run: RunBulkStep, basepath: string): Promise<{ schemas: [typeof BULK_RESPONSE]; Operations: BulkResult[] }> {
  const ids = new Map<string, string>();
  const failed = new Map<string, number>();
  const results: BulkResult[] = [];
  let errors = 0;
  const runOne = async (i: number) => {
    const op = plan.operations[i]!;
    const result: BulkResult = { method: op.method, ...(op.bulkId !== undefined ? { bulkId: op.bulkId } : {}), status: '' };
    const id = op.id === undefined ? undefined : resolveReferences(op.id, ids);
    const unresolved = op.references.find((ref) => !ids.has(ref));
    let answer: Awaited<ReturnType<RunBulkStep>>;
    if (unresolved !== undefined) {
      answer = { failure: toScimFailure(scimError(400, 'invalidValue', `bulkId:${unresolved} was not created: Operations[${failed.get(unresolved)}] failed.`)) };
    } else {
      const input: ScimOperationInput = { query: {}, ...(id === undefined ? {} : { id }), ...(op.data ? { body: resolveReferences(op.data, ids) } : {}), ...(op.version && op.method !== 'POST' ? { ifMatch: op.version } : {}) };
      answer = await run({ resource: op.resource, name: OPERATION_OF[op.method], method: op.method, path: `${op.endpoint}${id === undefined ? '' : `/${id}`}`, input });
    }
    if ('outcome' in answer) {
      const body = answer.outcome.body as { id?: string; meta?: { version?: string; location?: string } } | undefined;
      if (op.method === 'POST' && body?.id) ids.set(op.bulkId!, body.id);
      const location = answer.outcome.location ?? body?.meta?.location ?? (id === undefined ? undefined : `${basepath}${op.endpoint}/${id}`);
      // A Group PATCH answers 204: its version comes as the outcome's ETag.
      const version = answer.outcome.etag ?? body?.meta?.version;
      Object.assign(result, { ...(version ? { version } : {}), ...(location ? { location } : {}), status: String(answer.outcome.status) });
    } else {
      errors++;
      if (op.bulkId !== undefined && op.method === 'POST') failed.set(op.bulkId, i);
      const failure = 'failure' in answer ? answer.failure : { status: 401, detail: 'The bearer token is no longer valid.' };
      // §3.7.3: every operation but a failed POST has a location.
      if (id !== undefined && !REFERENCE.test(id)) result.location = `${basepath}${op.endpoint}/${id}`;
      Object.assign(result, { status: String(failure.status), response: scimErrorBody(failure) });
    }
    results[i] = result;
  };
  for (let k = 0; k < plan.order.length && errors < plan.failOnErrors; ) {
    const batch = nextRun(plan, k, ids, plan.failOnErrors - errors);
    await Promise.all(batch.map(runOne));
    k += batch.length;
  }
  return { schemas: [BULK_RESPONSE], Operations: results.filter((r) => r !== undefined) };
}

export const isBulkPath = (path: string) => /^\/Bulk\/?$/.test(path);

/** The JSON body parser for /Bulk: its limit is maxPayloadSize, and past it the 413 names that limit (§3.7.4). */
export function bulkJsonBody(options: { type: string[]; maxStringLength: number }): RequestHandler {
  const parse = jsonBody({ ...options, limit: MAX_BULK_PAYLOAD });
  return (req, res, next) =>
    parse(req, res, (error?: unknown) => {
      if ((error as { type?: string } | undefined)?.type === 'entity.too.large') {
        return sendScimError(res, { status: 413, detail: `The size of the bulk request exceeds maxPayloadSize (${MAX_BULK_PAYLOAD} bytes).` });
      }
      next(error);
    });
}

/** POST /Bulk: checks the whole request, then runs it; 200 with the BulkResponse. */
export function bulkHandler(options: { basepath: string; run: (auth: ScimAuth, step: BulkStep) => ReturnType<RunBulkStep> }): RequestHandler {
  return async (req, res) => {
    let plan: BulkPlan;
    try {
      plan = parseBulkRequest(req.body);
    } catch (error) {
      return sendScimError(res, toScimFailure(error));
    }
    const auth = res.locals.scim as ScimAuth;
    // The token was looked up for this request (only a single create defers that, auth.ts).
    const response = await runBulk(
      plan,
      async (step) => {
        const startedAt = performance.now();
        const answer = await options.run(auth, step);
        // Each operation is a row of the provisioning log of its own, as if sent alone.
        const failure = 'failure' in answer ? answer.failure : 'unauthorized' in answer ? { status: 401, detail: 'The bearer token is no longer valid.' } : undefined;
        const created = 'outcome' in answer ? (answer.outcome.body as { id?: unknown } | undefined)?.id : undefined;
        recordScimOperation(res, {
          method: step.method,
          path: step.path,
          status: 'outcome' in answer ? answer.outcome.status : failure!.status,
          body: step.input.body,
          ...(typeof created === 'string' ? { resourceId: created } : {}),
          ...(failure ? { failure } : {}),
          startedAt,
        });
        return answer;
      },
      options.basepath,
    );
    // end, not send: no body-hash ETag (router.ts).
    res.status(200).end(JSON.stringify(response));
  };
}
