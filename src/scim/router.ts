import express, { type NextFunction, type Request, type RequestHandler, type Response, type Router } from 'express';
import SCIMMY from 'scimmy';
import SCIMMYRouters from 'scimmy-routers';
import { jsonBody } from '../input-guard.ts';
import { scimOperations } from '../metrics.ts';
import { authenticateScim, ScimUnauthorized, unauthorized, verifyScimAuth, type ScimAuth } from './auth.ts';
import type { ScimContext, ScimDependencies } from './context.ts';
import { createUserInserter } from './create-batch.ts';
import { recordProvisioning } from './provisioning-log.ts';
import { SCIM_CONTENT_TYPE, scimError, sendScimError, toScimFailure } from './errors.ts';
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
 * the bearer token in the SCIMMY `ctx`; scimmy-routers cannot wrap its handlers in a transaction. scimmy-routers serves discovery (/Schemas, /ResourceTypes,
 * /ServiceProviderConfig), /Bulk (501: not supported) and the 404 for unknown paths.
 */
const BODY_LIMIT = '512kb'; // also bulk.maxPayloadSize in schemas.ts
/** No SCIM attribute value is longer (an X.509 certificate in base64 is a few KB). */
const MAX_STRING_LENGTH = 16 * 1024;

type ResourceName = 'User' | 'Group';
type Operation = 'get' | 'list' | 'create' | 'replace' | 'patch' | 'delete';
interface Outcome {
  status: number;
  body?: unknown;
  location?: string;
}

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
  router.use(jsonBody({ type: ['application/scim+json', 'application/json'], limit: BODY_LIMIT, maxStringLength: MAX_STRING_LENGTH }));

  /** Runs one SCIM operation: reads on a fresh EntityManager, writes in one transaction (but see `transaction`). */
  const operation =
    (resource: ResourceName, name: Operation, run: (ctx: ScimContext, req: Request) => Promise<Outcome>): RequestHandler =>
    async (req, res) => {
      let auth = res.locals.scim as ScimAuth;
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
        if (auth.unverified) {
          own.liveToken = auth.unverified;
          own.verifyAuth = async () => {
            if (!(await verify())) throw new ScimUnauthorized();
            own.policy = auth.policy;
            delete own.liveToken;
          };
        }
        ctx = own;
        return run(own, req);
      };
      try {
        // Only a User create checks an unverified token in its own statement.
        if (!userCreate && !(await verify())) return unauthorized(res, true);
        const outcome = transaction ? await context.orm.em.fork().transactional(start) : await start(context.orm.em.fork());
        count(resource, name, outcome.status);
        if (outcome.location) res.location(outcome.location);
        res.status(outcome.status);
        if (outcome.body === undefined) res.end();
        else res.send(JSON.stringify(outcome.body));
      } catch (error) {
        // A token that stopped being live is the answer, whatever else failed (a 400, a 409).
        if (ctx?.failure instanceof ScimUnauthorized || error instanceof ScimUnauthorized || !(await verify().catch(() => true))) return unauthorized(res, true);
        // The real failure beats the 404 SCIMMY made of it.
        const failure = toScimFailure(ctx?.failure ?? error);
        if (failure.internal) context.logger.error({ err: ctx?.failure ?? error, method: req.method, path: req.originalUrl }, 'SCIM request failed');
        count(resource, name, failure.status);
        sendScimError(res, failure);
      }
    };

  mountResource(router, 'User', '/Users', operation);
  mountResource(router, 'Group', '/Groups', operation);

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

function count(resource: ResourceName, operation: Operation, status: number): void {
  scimOperations.inc({ resource, operation, outcome: status < 400 ? 'ok' : status < 500 ? 'client_error' : 'server_error' });
}

type OperationFactory = (resource: ResourceName, name: Operation, run: (ctx: ScimContext, req: Request) => Promise<Outcome>) => RequestHandler;

function mountResource(router: Router, name: ResourceName, path: string, operation: OperationFactory): void {
  const Resource = name === 'User' ? SCIMMY.Resources.User : SCIMMY.Resources.Group;
  const Schema = name === 'User' ? SCIMMY.Schemas.User : SCIMMY.Schemas.Group;
  const list = name === 'User' ? listScimUsers : listScimGroups;
  const id = (req: Request) => String(req.params.id);
  const query = (req: Request) => req.query as Record<string, unknown>;
  /** The response as asked with `attributes` / `excludedAttributes` (RFC 7644 §3.9), also after writes. */
  const shaped = (req: Request, resource: object) => {
    const { attributes, excludedAttributes } = parseListQuery(query(req));
    if (attributes === undefined && excludedAttributes === undefined) return resource;
    const selection = attributeSelection(Resource, { attributes, excludedAttributes });
    return new Schema(JSON.parse(JSON.stringify(resource)), 'out', Resource.basepath() as string, selection);
  };
  const location = (body: unknown) => (body as { meta?: { location?: string } }).meta?.location;

  router.get(path, operation(name, 'list', async (ctx, req) => ({ status: 200, body: await list(ctx, parseListQuery(query(req))) })));
  router.post(
    `${path}/.search`,
    operation(name, 'list', async (ctx, req) => {
      const body = (req.body ?? {}) as Record<string, unknown>;
      const params: Record<string, unknown> = { ...body };
      for (const key of ['attributes', 'excludedAttributes'] as const) {
        const value = body[key];
        if (!Array.isArray(value)) continue;
        if (!value.every((v) => typeof v === 'string')) throw scimError(400, 'invalidValue', `'${key}' must be a list of attribute names.`);
        params[key] = value.join(',');
      }
      for (const key of ['startIndex', 'count'] as const) if (typeof body[key] === 'number') params[key] = String(body[key]);
      return { status: 200, body: await list(ctx, parseListQuery(params) satisfies ListQuery) };
    }),
  );
  router.get(
    `${path}/:id`,
    operation(name, 'get', async (ctx, req) => {
      const { attributes, excludedAttributes } = parseListQuery(query(req));
      const resource = new Resource(id(req), { ...(attributes ? { attributes } : {}), ...(excludedAttributes ? { excludedAttributes } : {}) });
      return { status: 200, body: await resource.read(ctx) };
    }),
  );
  router.post(
    path,
    operation(name, 'create', async (ctx, req) => {
      const created = await new Resource().write(normaliseResourceBody(req.body) as never, ctx);
      return { status: 201, body: shaped(req, created), location: location(created) };
    }),
  );
  router.put(
    `${path}/:id`,
    operation(name, 'replace', async (ctx, req) => {
      const replaced = await new Resource(id(req)).write(normaliseResourceBody(req.body) as never, ctx);
      return { status: 200, body: shaped(req, replaced) };
    }),
  );
  router.patch(
    `${path}/:id`,
    operation(name, 'patch', async (ctx, req) => {
      ctx.patching = true;
      // No attribute selection on the resource patched: SCIMMY would hand a partial user to ingress.
      const resource = new Resource(id(req));
      const body = normalisePatchBody(req.body, id(req)) as { Operations?: unknown };
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
      return name === 'Group' ? { status: 204 } : { status: 200, body: shaped(req, result) };
    }),
  );
  router.delete(
    `${path}/:id`,
    operation(name, 'delete', async (ctx, req) => {
      await new Resource(id(req)).dispose(ctx);
      return { status: 204 };
    }),
  );
}
