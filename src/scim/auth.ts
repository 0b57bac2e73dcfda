import { timingSafeEqual } from 'node:crypto';
import type { RequestHandler } from 'express';
import type { ApiContext } from '../http/context.ts';
import { findActiveToken, hashToken } from '../store/tokens.ts';
import { sendScimError, toScimFailure } from './errors.ts';

/** The SCIM connection a request comes from: the token decides the tenant. */
export interface ScimAuth {
  tenantId: string;
  tokenId: string;
}

/**
 * `Authorization: Bearer <token>` with a live token of kind `scim`, else 401 with a SCIM error
 * body. Tokens are stored as SHA-256 hashes and found by an indexed equality on the hash, so the
 * plain value is never compared; the hash is compared once more in constant time.
 */
export function authenticateScim(context: ApiContext): RequestHandler {
  return async (req, res, next) => {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(req.get('authorization') ?? '');
    try {
      const token = match ? await findActiveToken(context.orm.em.fork(), match[1]!, 'scim') : null;
      const expected = match ? Buffer.from(hashToken(match[1]!)) : Buffer.alloc(0);
      if (!token || !timingSafeEqual(Buffer.from(token.tokenHash), expected)) {
        res.set('WWW-Authenticate', 'Bearer realm="turnover SCIM"');
        sendScimError(res, { status: 401, detail: match ? 'The bearer token is not a valid SCIM token.' : 'A bearer token is required.' });
        return;
      }
      res.locals.scim = { tenantId: token.tenantId, tokenId: token.id } satisfies ScimAuth;
      next();
    } catch (error) {
      // The token store is down: that is ours to fix, not a bad token.
      context.logger.error({ err: error }, 'SCIM authentication failed');
      sendScimError(res, toScimFailure(error));
    }
  };
}
