import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { OperatorRole } from '../lifecycle/statuses.ts';
import { insertAuditEntry } from './audit.ts';
import { sqlIn } from './sql.ts';
import { ApiTokenSchema, type ApiToken, type TokenKind } from './entities/index.ts';

/**
 * Bearer tokens: `tov_<kind>_<43 random base64url chars>` (256 bits). The kind in the text lets a
 * secret scanner recognise a leaked turnover token. Only the SHA-256 is stored; lookup is by that
 * hash, an indexed equality that reveals nothing through timing about other tokens.
 */
export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

export function generateToken(kind: TokenKind): string {
  return `tov_${kind}_${randomBytes(32).toString('base64url')}`;
}

const PREFIX_LENGTH = 16;

export interface NewToken {
  tenantId: string;
  kind: TokenKind;
  role?: OperatorRole | null;
  label?: string | null;
  userId?: string | null;
  deviceId?: string | null;
  expiresAt?: Date | null;
  actor: string;
}

/** Adds the token to the caller's unit of work and returns the plain value, which is never stored. */
export function insertApiToken(em: EntityManager, input: NewToken): { token: string; record: ApiToken } {
  if (input.kind === 'admin' && !input.role) throw new Error('an admin token needs a role');
  if (input.kind !== 'admin' && input.role) throw new Error('only admin tokens carry a role');
  const token = generateToken(input.kind);
  const record = em.create(ApiTokenSchema, {
    // Set here, not at flush, because the audit entry below names it.
    id: randomUUID(),
    tenantId: input.tenantId,
    kind: input.kind,
    role: input.role ?? null,
    label: input.label ?? null,
    tokenHash: hashToken(token),
    prefix: token.slice(0, PREFIX_LENGTH),
    userId: input.userId ?? null,
    deviceId: input.deviceId ?? null,
    expiresAt: input.expiresAt ?? null,
  });
  insertAuditEntry(em, {
    tenantId: input.tenantId,
    actor: input.actor,
    action: 'token.created',
    userId: input.userId ?? null,
    details: { tokenId: record.id, kind: input.kind, role: input.role ?? null, prefix: record.prefix },
  });
  return { token, record };
}

/** The live token with this plain value, or null (unknown, revoked or expired). */
export async function findActiveToken(em: EntityManager, token: string, kind?: TokenKind): Promise<ApiToken | null> {
  if (!/^tov_[a-z]+_[A-Za-z0-9_-]{43}$/.test(token)) return null;
  const record = await em.findOne(ApiTokenSchema, { tokenHash: hashToken(token), revokedAt: null });
  if (!record) return null;
  if (kind && record.kind !== kind) return null;
  if (record.expiresAt && record.expiresAt.getTime() <= Date.now()) return null;
  return record;
}

/** A live admin token with this plain value and its tenant's stored policy, in one statement; or null. */
export async function findActiveAdminToken(em: EntityManager, token: string): Promise<{ id: string; tenantId: string; role: OperatorRole; policy: unknown } | null> {
  if (!/^tov_admin_[A-Za-z0-9_-]{43}$/.test(token)) return null;
  const [row] = await sqlIn(em)<{ id: string; tenant_id: string; role: OperatorRole | null; policy: unknown }>(
    `select t.id, t.tenant_id, t.role, tn.policy from api_tokens t join tenants tn on tn.id = t.tenant_id
      where t.token_hash = ? and t.kind = 'admin' and t.revoked_at is null and (t.expires_at is null or t.expires_at > now())`,
    [hashToken(token)],
  );
  return row?.role ? { id: row.id, tenantId: row.tenant_id, role: row.role, policy: row.policy } : null;
}

/**
 * Revokes by id, by the shown prefix or by the token itself. Returns the revoked rows (none when
 * nothing matched); an already revoked token is not revoked twice.
 */
export async function revokeApiTokens(
  em: EntityManager,
  input: { tenantId: string; idOrPrefixOrToken: string; actor: string },
): Promise<ApiToken[]> {
  const key = input.idOrPrefixOrToken.trim();
  const where = /^[0-9a-f-]{36}$/i.test(key)
    ? { id: key }
    : key.length > PREFIX_LENGTH
      ? { tokenHash: hashToken(key) }
      : { prefix: key };
  const tokens = await em.find(ApiTokenSchema, { ...where, tenantId: input.tenantId, revokedAt: null });
  const now = new Date();
  for (const token of tokens) {
    token.revokedAt = now;
    insertAuditEntry(em, {
      tenantId: input.tenantId,
      actor: input.actor,
      action: 'token.revoked',
      userId: token.userId,
      details: { tokenId: token.id, kind: token.kind, prefix: token.prefix },
    });
  }
  return tokens;
}
