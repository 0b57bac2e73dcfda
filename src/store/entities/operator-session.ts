import { EntitySchema, type OptionalProps } from '@mikro-orm/core';
import { createdAtColumn, uuidPrimaryKey } from './columns.ts';

/**
 * A console sign-in. The cookie carries a random 256-bit id; only its SHA-256 is stored, so a
 * database leak gives no usable session. Idle and absolute expiry come from the tenant policy
 * (sessionIdleMinutes, sessionMaxHours). The CSRF token is derived from the session id (see
 * src/http/console/session.ts), so nothing else needs storing.
 */
export interface OperatorSession {
  [OptionalProps]?: 'id' | 'createdAt' | 'lastSeenAt' | 'revokedAt' | 'userAgent' | 'address';
  id: string;
  tenantId: string;
  userId: string;
  tokenHash: string;
  createdAt: Date;
  lastSeenAt: Date;
  /** Absolute end, set at sign-in: createdAt + sessionMaxHours. */
  expiresAt: Date;
  revokedAt: Date | null;
  userAgent: string | null;
  address: string | null;
}

export const OperatorSessionSchema = new EntitySchema<OperatorSession>({
  name: 'OperatorSession',
  tableName: 'operator_sessions',
  properties: {
    id: uuidPrimaryKey,
    tenantId: { kind: 'm:1', entity: 'Tenant', mapToPk: true, deleteRule: 'cascade', fieldName: 'tenant_id' },
    userId: { kind: 'm:1', entity: 'User', mapToPk: true, deleteRule: 'cascade', fieldName: 'user_id' },
    tokenHash: { type: 'text', unique: 'operator_sessions_token_hash_key' },
    createdAt: createdAtColumn,
    lastSeenAt: { type: 'Date', columnType: 'timestamptz', defaultRaw: 'now()', onCreate: () => new Date() },
    expiresAt: { type: 'Date', columnType: 'timestamptz' },
    revokedAt: { type: 'Date', columnType: 'timestamptz', nullable: true },
    userAgent: { type: 'text', nullable: true },
    address: { type: 'text', nullable: true },
  },
  indexes: [{ name: 'operator_sessions_user_idx', properties: ['userId'] }],
});
