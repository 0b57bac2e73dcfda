import { timingSafeEqual } from 'node:crypto';
import type { Request, RequestHandler, Response } from 'express';
import { resolvePolicy, type Policy } from '../lifecycle/policy.ts';
import { findLiveScimToken, type LiveScimToken } from '../store/scim-tokens.ts';
import { hashToken } from '../store/tokens.ts';
import type { ScimDependencies } from './context.ts';
import { sendScimError, toScimFailure } from './errors.ts';

/** The SCIM connection a request comes from: the token decides the tenant. */
export interface ScimAuth {
  tenantId: string;
  tokenId: string;
  /** The tenant's lifecycle policy, read with the token: no second query on every write. */
  policy: Policy;
  /**
   * Set when this came from the tokens verified before and was NOT looked up for this request:
   * the request's own statement must check that this token is still live (the SCIM create's
   * `liveToken` condition), or it must call `verifyScimAuth` before anything else.
   */
  unverified?: LiveScimToken;
}

/**
 * Tokens verified by a lookup, by hash (never the token itself), for `deferrable` requests only.
 * A hit is not trusted: it only lets the request check its token inside its own statement (the
 * SCIM create), so a revoked or expired token is refused by the first statement that starts after
 * the revocation commits, exactly as with a lookup per request. Bounded; oldest out first.
 */
const verified = new Map<string, { token: LiveScimToken; resolved: Policy }>();
const VERIFIED_MAX = 1_000;

/**
 * `Authorization: Bearer <token>` with a live token of kind `scim`, else 401 with a SCIM error
 * body. Tokens are stored as SHA-256 hashes (src/store/tokens.ts) and found by an indexed equality
 * on the hash, so the plain value is never compared; the hash is compared once more in constant
 * time. The tenant's policy comes in the same query.
 *
 * For a `deferrable` request (a create, whose one statement checks the token itself) a token
 * verified before skips the lookup, saving a round trip; see `verified`.
 */
export function authenticateScim(context: ScimDependencies, deferrable: (req: Request) => boolean = () => false): RequestHandler {
  return async (req, res, next) => {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(req.get('authorization') ?? '');
    try {
      const expected = match ? hashToken(match[1]!) : null;
      const known = expected && deferrable(req) ? verified.get(expected) : undefined;
      const auth = known
        ? ({ tenantId: known.token.tenantId, tokenId: known.token.tokenId, policy: known.resolved, unverified: known.token } satisfies ScimAuth)
        : expected
          ? await lookUp(context, expected)
          : null;
      if (!auth) {
        unauthorized(res, match !== null);
        return;
      }
      res.locals.scim = auth;
      next();
    } catch (error) {
      // The token store is down: that is ours to fix, not a bad token.
      context.logger.error({ err: error }, 'SCIM authentication failed');
      sendScimError(res, toScimFailure(error));
    }
  };
}

async function lookUp(context: ScimDependencies, expected: string): Promise<ScimAuth | null> {
  const token = await findLiveScimToken(context.orm.em, expected);
  if (!token || !timingSafeEqual(Buffer.from(token.tokenHash), Buffer.from(expected))) {
    verified.delete(expected);
    return null;
  }
  const policy = resolvePolicy(token.policyAsStored);
  verified.delete(expected); // re-inserted last: the Map's order is the eviction order
  verified.set(expected, { token, resolved: policy });
  if (verified.size > VERIFIED_MAX) verified.delete(verified.keys().next().value!);
  return { tenantId: token.tenantId, tokenId: token.tokenId, policy };
}

/** The request's token looked up now (for an `unverified` auth): the live auth, or null. */
export async function verifyScimAuth(context: ScimDependencies, auth: ScimAuth): Promise<ScimAuth | null> {
  return auth.unverified ? lookUp(context, auth.unverified.tokenHash) : auth;
}

/** A token that was live when cached and is not any more: answered 401 like a failed lookup. */
export class ScimUnauthorized extends Error {
  constructor() {
    super('The bearer token is not a valid SCIM token.');
  }
}

export function unauthorized(res: Response, hadToken: boolean): void {
  res.set('WWW-Authenticate', 'Bearer realm="turnover SCIM"');
  sendScimError(res, { status: 401, detail: hadToken ? 'The bearer token is not a valid SCIM token.' : 'A bearer token is required.' });
}
