import { timingSafeEqual } from 'node:crypto';
import type { Request, RequestHandler, Response } from 'express';
import type { ApiContext } from '../http/context.ts';
import { resolvePolicy, type Policy } from '../lifecycle/policy.ts';
import { hashToken } from '../store/tokens.ts';
import { sendScimError, toScimFailure } from './errors.ts';

/** The SCIM connection a request comes from: the token decides the tenant. */
export interface ScimAuth {
  tenantId: string;
  tokenId: string;
  /** The tenant's lifecycle policy, read with the token: no second query on every write. */
  policy: Policy;
  /**
   * Set when this came from the tokens verified before and was NOT looked up for this request:
   * the request's own statement must check the token (`liveTokenCheck`), or it must call
   * `verifyScimAuth` before anything else. `policy` is the tenant's policy as stored then.
   */
  unverified?: { tokenHash: string; policy: unknown };
}

interface TokenRow {
  id: string;
  tenant_id: string;
  token_hash: string;
  policy: unknown;
}

/** A live SCIM token by its hash; `t` is api_tokens, `tn` its tenant. One definition for both checks. */
const LIVE_TOKEN = `t.token_hash = ? and t.kind = 'scim' and t.revoked_at is null and (t.expires_at is null or t.expires_at > now())`;

/**
 * Tokens verified by a lookup, by hash (never the token itself), for `deferrable` requests only.
 * A hit is not trusted: it only lets the request check its token inside its own statement (the
 * SCIM create), so a revoked or expired token is refused by the first statement that starts after
 * the revocation commits, exactly as with a lookup per request. Bounded; oldest out first.
 */
const verified = new Map<string, { tenantId: string; tokenId: string; policy: unknown; resolved: Policy }>();
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
export function authenticateScim(context: ApiContext, deferrable: (req: Request) => boolean = () => false): RequestHandler {
  return async (req, res, next) => {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(req.get('authorization') ?? '');
    try {
      const expected = match ? hashToken(match[1]!) : null;
      const known = expected && deferrable(req) ? verified.get(expected) : undefined;
      const auth = known
        ? ({ tenantId: known.tenantId, tokenId: known.tokenId, policy: known.resolved, unverified: { tokenHash: expected!, policy: known.policy } } satisfies ScimAuth)
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

async function lookUp(context: ApiContext, expected: string): Promise<ScimAuth | null> {
  const [token] = await context.orm.em
    .getConnection()
    .execute<TokenRow[]>(`select t.id, t.tenant_id, t.token_hash, tn.policy from api_tokens t join tenants tn on tn.id = t.tenant_id where ${LIVE_TOKEN}`, [expected]);
  if (!token || !timingSafeEqual(Buffer.from(token.token_hash), Buffer.from(expected))) {
    verified.delete(expected);
    return null;
  }
  const policy = resolvePolicy(token.policy);
  verified.delete(expected); // re-inserted last: the Map's order is the eviction order
  verified.set(expected, { tenantId: token.tenant_id, tokenId: token.id, policy: token.policy, resolved: policy });
  if (verified.size > VERIFIED_MAX) verified.delete(verified.keys().next().value!);
  return { tenantId: token.tenant_id, tokenId: token.id, policy };
}

/** The request's token looked up now (for an `unverified` auth): the live auth, or null. */
export async function verifyScimAuth(context: ApiContext, auth: ScimAuth): Promise<ScimAuth | null> {
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

/**
 * SQL (knex `?` placeholders) that holds while an `unverified` token is still live, of this
 * tenant, and the tenant's policy is still the one the request acts on; for the request's own
 * statement. Nothing for a token looked up for this request.
 */
export function liveTokenCheck(auth: Pick<ScimAuth, 'tenantId' | 'tokenId' | 'unverified'>): { sql: string; params: unknown[] } | null {
  if (!auth.unverified) return null;
  return {
    sql: `exists (select 1 from api_tokens t join tenants tn on tn.id = t.tenant_id
      where t.id = ? and t.tenant_id = ? and ${LIVE_TOKEN} and tn.policy = ?::jsonb)`,
    params: [auth.tokenId, auth.tenantId, auth.unverified.tokenHash, JSON.stringify(auth.unverified.policy ?? null)],
  };
}
