import SCIMMY from 'scimmy';
import type { Policy } from '../lifecycle/policy.ts';
import type { Config } from '../config.ts';
import type { Logger } from '../log.ts';
import type { EntityManager, Orm } from '../store/orm.ts';
import type { ScimCreateOutcome, ScimUserCreate } from '../store/scim-users.ts';
import type { LiveScimToken } from '../store/scim-tokens.ts';
import type { ProvisioningLogWriter } from './provisioning-log-writer.ts';
import { loadPolicy } from '../store/user-lifecycle.ts';

/**
 * What one SCIM request carries into the SCIMMY handlers (their `ctx` argument). SCIMMY's
 * resources are process-wide singletons, so the tenant, the SCIM connection and the database
 * transaction come from here, never from module state.
 */
/** What the SCIM service provider is built from (the HTTP layer's ApiContext has all of it). */
export interface ScimDependencies {
  config: Config;
  logger: Logger;
  orm: Orm;
  /** Where each request's provisioning log row goes (buffered; main.ts closes it at shutdown). */
  provisioningLog: ProvisioningLogWriter;
}

export interface ScimContext {
  /** Writes: the request's transaction, so a change, its audit entry and its task rows commit together. */
  em: EntityManager;
  tenantId: string;
  /** The SCIM token (connection) the request came with. */
  tokenId: string;
  /** Audit and task actor: `scim:<token id>`. */
  actor: string;
  /** PATCH and PUT: the resource row is locked from the read until commit (no lost updates). */
  lock: boolean;
  /**
   * PUT, PATCH, DELETE: the If-Match precondition (the header, or a /Bulk operation's `version`),
   * checked where the resource row is locked (etag.ts checkIfMatch); a stale one is 412.
   */
  ifMatch?: string;
  /** PATCH: the body SCIMMY hands to ingress is the whole patched resource, extensions included. */
  patching?: boolean;
  /** An exception SCIMMY would have reported as 404; the router answers it as 5xx. */
  failure?: unknown;
  policy?: Policy;
  /**
   * The bearer token was not looked up for this request (auth.ts `unverified`): a statement that
   * writes must also check that it is still live, or the request calls `verifyAuth` first.
   */
  liveToken?: LiveScimToken;
  /** Looks the token up now (once): throws ScimUnauthorized if it is no longer live; refreshes `policy`. */
  verifyAuth?: () => Promise<void>;
  /** A create outside a transaction, in a statement shared with concurrent requests (create-batch.ts). */
  insertUser: (create: ScimUserCreate) => Promise<ScimCreateOutcome>;
  /** For alerts that belong in the log (the deprovision guard tripping). */
  logger?: Logger;
}

/** What one SCIM operation reads from its request, whether a route's or a /Bulk operation's. */
export interface ScimOperationInput {
  /** The resource id of `/Users/:id`, `/Groups/:id`. */
  id?: string;
  body?: unknown;
  query: Record<string, unknown>;
  /** PUT, PATCH, DELETE: If-Match (the header, or a /Bulk operation's `version`). */
  ifMatch?: string;
  /** GET of one resource: If-None-Match (a current copy is answered 304). */
  ifNoneMatch?: string;
}

/** What one SCIM operation answers: the status, the body (none for 204) and, for a create, its Location. */
export interface ScimOutcome {
  status: number;
  body?: unknown;
  location?: string;
  /** The resource's meta.version, sent as ETag (RFC 7644 §3.14); also on a 204 or 304 without a body. */
  etag?: string;
}

export async function policyOf(ctx: ScimContext): Promise<Policy> {
  ctx.policy ??= await loadPolicy(ctx.em, ctx.tenantId);
  return ctx.policy;
}

/**
 * Wraps a SCIMMY handler: SCIM errors pass through; anything else (a database or queue failure,
 * a bug) is recorded on the context before SCIMMY turns it into "not found".
 */
export function guard<A extends unknown[], R>(fn: (...args: A) => Promise<R>, contextOf: (...args: A) => ScimContext) {
  return async (...args: A): Promise<R> => {
    try {
      return await fn(...args);
    } catch (error) {
      if (!(error instanceof SCIMMY.Types.Error)) contextOf(...args).failure ??= error;
      throw error;
    }
  };
}
