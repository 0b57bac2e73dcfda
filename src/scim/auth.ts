import { timingSafeEqual } from 'node:crypto';
import type { RequestHandler } from 'express';
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
}

interface TokenRow {
  id: string;
  tenant_id: string;
  token_hash: string;
  policy: unknown;
}

/**
 * `Authorization: Bearer <token>` with a live token of kind `scim`, else 401 with a SCIM error
 * body. Tokens are stored as SHA-256 hashes (src/store/tokens.ts) and found by an indexed equality
 * on the hash, so the plain value is never compared; the hash is compared once more in constant
 * time. The tenant's policy comes in the same query.
 */
export function authenticateScim(context: ApiContext): RequestHandler {
  return async (req, res, next) => {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(req.get('authorization') ?? '');
    try {
      const expected = match ? hashToken(match[1]!) : null;
      const [token] = expected
        ? await context.orm.em.getConnection().execute<TokenRow[]>(
            `select t.id, t.tenant_id, t.token_hash, tn.policy from api_tokens t join tenants tn on tn.id = t.tenant_id
              where t.token_hash = ? and t.kind = 'scim' and t.revoked_at is null and (t.expires_at is null or t.expires_at > now())`,
            [expected],
          )
        : [];
      if (!token || !expected || !timingSafeEqual(Buffer.from(token.token_hash), Buffer.from(expected))) {
        res.set('WWW-Authenticate', 'Bearer realm="turnover SCIM"');
        sendScimError(res, { status: 401, detail: match ? 'The bearer token is not a valid SCIM token.' : 'A bearer token is required.' });
        return;
      }
      res.locals.scim = { tenantId: token.tenant_id, tokenId: token.id, policy: resolvePolicy(token.policy) } satisfies ScimAuth;
      next();
    } catch (error) {
      // The token store is down: that is ours to fix, not a bad token.
      context.logger.error({ err: error }, 'SCIM authentication failed');
      sendScimError(res, toScimFailure(error));
    }
  };
}
