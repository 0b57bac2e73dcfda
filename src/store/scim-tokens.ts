import type { EntityManager } from '@mikro-orm/postgresql';
import { sqlIn, type SqlFragment } from './sql.ts';

/** A live SCIM token, found by its hash, with its tenant's policy as stored (the JSON, unresolved). */
export interface LiveScimToken {
  tokenId: string;
  tenantId: string;
  tokenHash: string;
  policyAsStored: unknown;
}

/** A live SCIM token by its hash; `t` is api_tokens, `tn` its tenant. One definition for both checks below. */
const LIVE_TOKEN = `t.token_hash = ? and t.kind = 'scim' and t.revoked_at is null and (t.expires_at is null or t.expires_at > now())`;

/** The live SCIM token with this SHA-256 hash (src/store/tokens.ts hashToken), and its tenant's policy; one indexed lookup. */
export async function findLiveScimToken(em: EntityManager, tokenHash: string): Promise<LiveScimToken | null> {
  const [row] = await sqlIn(em)<{ id: string; tenant_id: string; token_hash: string; policy: unknown }>(
    `select t.id, t.tenant_id, t.token_hash, tn.policy from api_tokens t join tenants tn on tn.id = t.tenant_id where ${LIVE_TOKEN}`,
    [tokenHash],
  );
  return row ? { tokenId: row.id, tenantId: row.tenant_id, tokenHash: row.token_hash, policyAsStored: row.policy } : null;
}

/**
 * The condition, for another statement of this store, that `token` is still live, of its tenant,
 * and that the tenant's policy is still the one read with it: a request that did not look its
 * token up checks it inside its own statement, at that statement's snapshot.
 */
export function liveScimTokenSql(token: LiveScimToken): SqlFragment {
  return {
    sql: `exists (select 1 from api_tokens t join tenants tn on tn.id = t.tenant_id
      where t.id = ? and t.tenant_id = ? and ${LIVE_TOKEN} and tn.policy = ?::jsonb)`,
    params: [token.tokenId, token.tenantId, token.tokenHash, JSON.stringify(token.policyAsStored ?? null)],
  };
}
