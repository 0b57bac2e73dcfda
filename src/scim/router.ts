import express, { type NextFunction, type Request, type RequestHandler, type Response, type Router } from 'express';
import SCIMMY from 'scimmy';
import SCIMMYRouters from 'scimmy-routers';
import { jsonBody } from '../input-guard.ts';
import { scimOperations } from '../metrics.ts';
import { authenticateScim, ScimUnauthorized, unauthorized, verifyScimAuth, type ScimAuth } from './auth.ts';
import { bulkHandler, bulkJsonBody, isBulkPath } from './bulk.ts';
import type { ScimContext, ScimDependencies, ScimOperationInput, ScimOutcome } from './context.ts';
import { createUserInserter } from './create-batch.ts';
import { recordProvisioning } from './provisioning-log.ts';
import { SCIM_CONTENT_TYPE, scimError, sendScimError, toScimFailure, type ScimFailure } from './errors.ts';
import { etagMatches } from './etag.ts';
import { groupHandlers, listScimGroups } from './groups.ts';
import { attributeSelection, parseListQuery, type ListQuery } from './list.ts';
import { normalisePatchBody, normalisePatchForResource, normaliseResourceBody, type PatchOperation } from './normalise.ts';
import { declareScimResources, setServiceProviderConfig } from './schemas.ts';
import { listScimUsers, userHandlers } from './users.ts';

/**
 * The SCIM 2.0 service provider, mounted at /scim/v2, for Okta and Entra ID.
 *
 * Users and Groups are served by thin express handlers that call SCIMMY's resource classes
 * (schema checks, PatchOp, attribute selection) inside one database transaction per write (a User
 * create is one statement, or opens its transaction itself), with the tenant and connection of
 * the bearer token in the SCIMMY `ctx`; scimmy-routers cannot wrap its handlers in a transaction.
 * Each handler is an operation callable with the request's parts, so /Bulk (bulk.ts) runs the very
 * same code, each of its operations as its own request. scimmy-routers serves discovery (/Schemas,
 * /ResourceTypes, /ServiceProviderConfig) and the 404 for unknown paths.
 */
const BODY_LIMIT = '512kb';
/** No SCIM attribute value is longer (an X.509 certificate in base64 is a few KB). */
const MAX_STRING_LENGTH = 16 * 1024;

type ResourceName = 'User' | 'Group';
type Operation = 'get' | 'list' | 'create' | 'replace' | 'patch' | 'delete';
/** One operation of a resource, called by its route and by /Bulk alike (one code path). */
type Run = (ctx: ScimContext, input: ScimOperationInput) => Promise<ScimOutcome>;
/** What running an operation came to: its outcome, the failure to answer, or a token no longer live. */
type Answer = { outcome: ScimOutcome } | { failure: ScimFailure } | { unauthorized: true };

export function createScimRouter(context: ScimDependencies): Router {
  declareScimResources({ user: userHandlers, group: groupHandlers });
  const basepath = `${context.config.publicUrl}/scim/v2`;
  for (const Resource of [SCIMMY.Resources.User, SCIMMY.Resources.Group, SCIMMY.Resources.Schema, SCIMMY.Resources.ResourceType, SCIMMY.Resources.ServiceProviderConfig]) {
    Resource.basepath(basepath);
  }

  const insertUser = createUserInserter(context.orm);
  const router = express.Router();
  // First, so that every request, refused or not, gets its provisioning log row.
  router.use(recordProvisioning(context.provisioningLog));
  router.use((_req, res, next) => {
    res.type(SCIM_CONTENT_TYPE);
    next();
  });
  // A create checks a token verified before inside its one statement (users.ts createUser).
  router.use(authenticateScim(context, (req) => req.method === 'POST' && /^\/Users\/?$/.test(req.path)));
  // Both media types, with or without charset; anything else leaves the body unread (400 from SCIMMY).
  // /Bulk has a larger limit of its own, advertised as bulk.maxPayloadSize (bulk.ts).
  const type = ['application/scim+json', 'application/json'];
  const body = jsonBody({ type, limit: BODY_LIMIT, maxStringLength: MAX_STRING_LENGTH });
  const bulkBody = bulkJsonBody({ type, maxStringLength: MAX_STRING_LENGTH });
  router.use((req, res, next) => (isBulkPath(req.path) ? bulkBody : body)(req, res, next));

  /**
   * Runs one SCIM operation as its own request: reads on a fresh EntityManager, writes in one
   * transaction (but see `transaction`). `where` names it in the log.
   */
  const perform = async (given: ScimAuth, resource: ResourceName, name: Operation, run: Run, input: ScimOperationInput, where: { method: string; path: string }): Promise<Answer> => {
    let auth = given;
    const write = name !== 'get' && name !== 'list';
    // A User create is usually one statement, atomic alone: BEGIN and COMMIT would be two more
    // round trips. It opens a transaction itself when it needs more (users.ts createUser).
    const userCreate = resource === 'User' && name === 'create';
    const transaction = write && !userCreate;
    let ctx: ScimContext | undefined;
    /** Looks an unverified token up; false when it is no longer live. */
    const verify = async () => {
      if (!auth.unverified) return true;
      const live = await verifyScimAuth(context, auth);
      if (live) auth = live;
      return live !== null;
    };
    const start = async (em: ScimContext['em']) => {
      const own: ScimContext = { em, tenantId: auth.tenantId, tokenId: auth.tokenId, actor: `scim:${auth.tokenId}`, lock: write, policy: auth.policy, logger: context.logger, insertUser };
      if (input.ifMatch !== undefined) own.ifMatch = input.ifMatch;
      if (auth.unverified) {
        own.liveToken = auth.unverified;
        own.verifyAuth = async () => {
          if (!(await verify())) throw new ScimUnauthorized();
          own.policy = auth.policy;
          delete own.liveToken;
        };
      }
      ctx = own;
      return run(own, input);
    };
    try {
      // Only a User create checks an unverified token in its own statement.
      if (!userCreate && !(await verify())) return { unauthorized: true };
      const outcome = transaction ? await context.orm.em.fork().transactional(start) : await start(context.orm.em.fork());
      count(resource, name, outcome.status, auth.tokenId);
      return { outcome };
    } catch (error) {
      // A token that stopped being live is the answer, whatever else failed (a 400, a 409).
      if (ctx?.failure instanceof ScimUnauthorized || error instanceof ScimUnauthorized || !(await verify().catch(() => true))) return { unauthorized: true };
      // The real failure beats the 404 SCIMMY made of it.
      const failure = toScimFailure(ctx?.failure ?? error);
      if (failure.internal) context.logger.error({ err: ctx?.failure ?? error, ...where }, 'SCIM request failed');
      count(resource, name, failure.status, auth.tokenId);
      return { failure };
    }
  };

  /** The route of one operation: the request's parts in, the answer out. */
  const operation =
    (resource: ResourceName, name: Operation, run: Run): RequestHandler =>
    async (req, res) => {
      const input: ScimOperationInput = { query: req.query as Record<string, unknown>, body: req.body, ...(req.params.id === undefined ? {} : { id: String(req.params.id) }) };
      // The preconditions a SCIM client sends (RFC 7644 §3.14): If-Match on writes, If-None-Match on a read.
      const ifMatch = name === 'replace' || name === 'patch' || name === 'delete' ? req.get('If-Match') : undefined;
      if (ifMatch !== undefined) input.ifMatch = ifMatch;
      const ifNoneMatch = name === 'get' ? req.get('If-None-Match') : undefined;
      if (ifNoneMatch !== undefined) input.ifNoneMatch = ifNoneMatch;
      const answer = await perform(res.locals.scim as ScimAuth, resource, name, run, input, { method: req.method, path: req.originalUrl });
      if ('unauthorized' in answer) return unauthorized(res, true);
      if ('failure' in answer) return sendScimError(res, answer.failure);
      const { outcome } = answer;
      if (outcome.location) res.location(outcome.location);
      if (outcome.etag) res.set('ETag', outcome.etag);
      res.status(outcome.status);
      // end, not send: send would add an ETag hashed from the body (express's default), on lists
      // too; the only ETag SCIM sends is a resource's meta.version.
      if (outcome.body === undefined) res.end();
      else res.end(JSON.stringify(outcome.body));
    };

  const operations = { User: resourceOperations('User'), Group: resourceOperations('Group') };
  mountResource(router, 'User', '/Users', operations.User, operation);
  mountResource(router, 'Group', '/Groups', operations.Group, operation);
  router.post(
    '/Bulk',
    bulkHandler({
      basepath,
      run: (auth, op) => perform(auth, op.resource, op.name, operations[op.resource][op.name], op.input, { method: op.method, path: `/scim/v2/Bulk ${op.path}` }),
    }),
  );

  // Not offered (ServiceProviderConfig says so); answered here before scimmy-routers would try.
  router.all(['/Me', '/.search'], (_req, res) => sendScimError(res, { status: 501, detail: 'Not implemented.' }));

  // Body parser and handler errors: malformed JSON (400 invalidSyntax), oversized body (413).
  router.use(async (error: unknown, req: Request, res: Response, next: NextFunction) => {
    if (res.headersSent) return next(error);
    // A create's body failed before its token was looked up: a dead token is still a 401.
    const auth = res.locals.scim as ScimAuth | undefined;
    if (auth?.unverified && (await verifyScimAuth(context, auth).catch(() => auth)) === null) return unauthorized(res, true);
    const failure = toScimFailure(error);
    if (failure.internal) context.logger.error({ err: error, method: req.method, path: req.originalUrl }, 'SCIM request failed');
    sendScimError(res, failure);
  });

  // scimmy-routers' constructor replaces the authentication schemes list and claims bulk and sort;
  // the truthful configuration is set right after it.
  SCIMMY.Config.set({ authenticationSchemes: [] });
  router.use(
    new SCIMMYRouters({
      type: 'bearer',
      // Already authenticated above; this only names the caller for scimmy-routers.
      handler: (req) => (req.res?.locals.scim as ScimAuth).tokenId,
      baseUri: () => context.config.publicUrl,
    }),
  );
  setServiceProviderConfig(undefined);
  return router;
}

/** `idp`: the SCIM token's id, one per IdP connection (few, and stable when a token is renamed). */
function count(resource: ResourceName, operation: Operation, status: number, idp: string): void {
  scimOperations.inc({ idp, resource, operation, outcome: status < 400 ? 'ok' : status < 500 ? 'client_error' : 'server_error' });
}

type OperationFactory = (resource: ResourceName, name: Operation, run: Run) => RequestHandler;

/** Every operation of a resource, each callable with a context and the request's parts. */
function resourceOperations(name: ResourceName) {
  const Resource = name === 'User' ? SCIMMY.Resources.User : SCIMMY.Resources.Group;
  const Schema = name === 'User' ? SCIMMY.Schemas.User : SCIMMY.Schemas.Group;
  const list = name === 'User' ? listScimUsers : listScimGroups;
  /** The response as asked with `attributes` / `excludedAttributes` (RFC 7644 §3.9), also after writes. */
  const shaped = (input: ScimOperationInput, resource: object) => {
    const { attributes, excludedAttributes } = parseListQuery(input.query);
    if (attributes === undefined && excludedAttributes === undefined) return resource;
    const selection = attributeSelection(Resource, { attributes, excludedAttributes });
    return new Schema(JSON.parse(JSON.stringify(resource)), 'out', Resource.basepath() as string, selection);
  };
  const location = (body: unknown) => (body as { meta?: { location?: string } }).meta?.location;
  /** Taken from the whole resource, before `attributes` may leave meta out of the body. */
  const etag = (body: unknown) => (body as { meta?: { version?: string } }).meta?.version;
  const id = (input: ScimOperationInput) => String(input.id);

  return {
    list: (async (ctx, input) => ({ status: 200, body: await list(ctx, parseListQuery(input.query)) })) satisfies Run,
    search: (async (ctx, input) => {
      const body = (input.body ?? {}) as Record<string, unknown>;
      const params: Record<string, unknown> = { ...body };
      for (const key of ['attributes', 'excludedAttributes'] as const) {
        const value = body[key];
        if (!Array.isArray(value)) continue;
        if (!value.every((v) => typeof v === 'string')) throw scimError(400, 'invalidValue', `'${key}' must be a list of attribute names.`);
        params[key] = value.join(',');
      }
      for (const key of ['startIndex', 'count'] as const) if (typeof body[key] === 'number') params[key] = String(body[key]);
      return { status: 200, body: await list(ctx, parseListQuery(params) satisfies ListQuery) };
    }) satisfies Run,
    get: (async (ctx, input) => {
      parseListQuery(input.query); // a malformed selection is a 400 before anything is read
      // Read whole, then shaped: the ETag is the resource's even when `attributes` leaves meta out.
      const resource = await new Resource(id(input)).read(ctx);
      const version = etag(resource);
      // The client's copy is current (weak comparison, `*` or a list): 304, no body.
      if (version && input.ifNoneMatch !== undefined && etagMatches(input.ifNoneMatch, version)) return { status: 304, etag: version };
      return { status: 200, body: shaped(input, resource), etag: version };
    }) satisfies Run,
    create: (async (ctx, input) => {
      const created = await new Resource().write(normaliseResourceBody(input.body) as never, ctx);
      return { status: 201, body: shaped(input, created), location: location(created), etag: etag(created) };
    }) satisfies Run,
    replace: (async (ctx, input) => {
      const replaced = await new Resource(id(input)).write(normaliseResourceBody(input.body) as never, ctx);
      return { status: 200, body: shaped(input, replaced), etag: etag(replaced) };
    }) satisfies Run,
    patch: (async (ctx, input) => {
      ctx.patching = true;
      // No attribute selection on the resource patched: SCIMMY would hand a partial user to ingress.
      const resource = new Resource(id(input));
      const body = normalisePatchBody(input.body, id(input)) as { Operations?: unknown };
      const current = await resource.read(ctx);
      let result: object = current;
      // An empty Operations list is a no-op (Entra sends one), not the 400 SCIMMY would give.
      if (!Array.isArray(body.Operations) || body.Operations.length > 0) {
        if (Array.isArray(body.Operations)) {
          body.Operations = normalisePatchForResource(body.Operations as PatchOperation[], current as unknown as Record<string, unknown>);
        }
        const patched = await new SCIMMY.Messages.PatchOp(body as never).apply(current as never, async (instance: object) => resource.write(instance as never, ctx));
        // Unchanged: SCIMMY answers nothing; the client still gets the resource.
        result = patched ?? (await resource.read(ctx));
      }
      // Entra ID and Okta expect 204 for groups (members can be large) and the user for users.
      return name === 'Group' ? { status: 204, etag: etag(result) } : { status: 200, body: shaped(input, result), etag: etag(result) };
    }) satisfies Run,
    delete: (async (ctx, input) => {
      await new Resource(id(input)).dispose(ctx);
      return { status: 204 };
    }) satisfies Run,
  };
}

function mountResource(router: Router, name: ResourceName, path: string, run: ReturnType<typeof resourceOperations>, operation: OperationFactory): void {
  router.get(path, operation(name, 'list', run.list));
  router.post(`${path}/.search`, operation(name, 'list', run.search));
  router.get(`${path}/:id`, operation(name, 'get', run.get));
  router.post(path, operation(name, 'create', run.create));
  router.put(`${path}/:id`, operation(name, 'replace', run.replace));
  router.patch(`${path}/:id`, operation(name, 'patch', run.patch));
  router.delete(`${path}/:id`, operation(name, 'delete', run.delete));
}
