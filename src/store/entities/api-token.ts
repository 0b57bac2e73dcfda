import { EntitySchema, type OptionalProps } from '@mikro-orm/core';
import { OPERATOR_ROLES, type OperatorRole } from '../../lifecycle/statuses.ts';
import { createdAtColumn, uuidPrimaryKey } from './columns.ts';

export const TOKEN_KINDS = ['scim', 'admin', 'device'] as const;
export type TokenKind = (typeof TOKEN_KINDS)[number];

/**
 * A bearer token. Only a SHA-256 of the token is stored: tokens are 256-bit random values, so a
 * fast hash is enough (no dictionary to resist) and lookups stay one indexed equality.
 */
export interface ApiToken {
  [OptionalProps]?: 'id' | 'createdAt' | 'role' | 'label' | 'userId' | 'deviceId' | 'lastUsedAt' | 'revokedAt' | 'expiresAt';
  id: string;
  tenantId: string;
  kind: TokenKind;
  /** Admin tokens only. */
  role: OperatorRole | null;
  label: string | null;
  tokenHash: string;
  /** The first characters of the token, shown in listings so an operator can tell tokens apart. */
  prefix: string;
  /** Device tokens: whose and which device. */
  userId: string | null;
  deviceId: string | null;
  createdAt: Date;
  lastUsedAt: Date | null;
  revokedAt: Date | null;
  expiresAt: Date | null;
}

export const ApiTokenSchema = new EntitySchema<ApiToken>({
  name: 'ApiToken',
  tableName: 'api_tokens',
  properties: {
    id: uuidPrimaryKey,
    tenantId: { kind: 'm:1', entity: 'Tenant', mapToPk: true, deleteRule: 'cascade', fieldName: 'tenant_id' },
    kind: { enum: true, items: () => TOKEN_KINDS },
    role: { enum: true, items: () => OPERATOR_ROLES, nullable: true },
    label: { type: 'text', nullable: true },
    tokenHash: { type: 'text', unique: 'api_tokens_token_hash_key' },
    prefix: { type: 'text' },
    userId: { kind: 'm:1', entity: 'User', mapToPk: true, nullable: true, deleteRule: 'cascade', fieldName: 'user_id' },
    deviceId: { kind: 'm:1', entity: 'Device', mapToPk: true, nullable: true, deleteRule: 'cascade', fieldName: 'device_id' },
    createdAt: createdAtColumn,
    lastUsedAt: { type: 'Date', columnType: 'timestamptz', nullable: true },
    revokedAt: { type: 'Date', columnType: 'timestamptz', nullable: true },
    expiresAt: { type: 'Date', columnType: 'timestamptz', nullable: true },
  },
  indexes: [
    { name: 'api_tokens_tenant_kind_idx', properties: ['tenantId', 'kind'] },
    // Every revocation (deprovision, reset, ban) finds a user's tokens by user.
    { name: 'api_tokens_user_idx', properties: ['userId'] },
  ],
});
