import { EntitySchema, type OptionalProps } from '@mikro-orm/core';
import { createdAtColumn, uuidPrimaryKey } from './columns.ts';

export const PASSWORD_LINK_PURPOSES = ['welcome', 'recovery'] as const;
export type PasswordLinkPurpose = (typeof PASSWORD_LINK_PURPOSES)[number];

/** A set-password link (welcome or recovery). Only the token's SHA-256 is stored. */
export interface PasswordLink {
  [OptionalProps]?: 'id' | 'taskId' | 'usedAt' | 'createdAt';
  id: string;
  tenantId: string;
  userId: string;
  purpose: PasswordLinkPurpose;
  tokenHash: string;
  /** The task that issued it, so a retried welcome job reuses its link instead of minting another. */
  taskId: string | null;
  expiresAt: Date;
  usedAt: Date | null;
  createdAt: Date;
}

export const PasswordLinkSchema = new EntitySchema<PasswordLink>({
  name: 'PasswordLink',
  tableName: 'password_links',
  properties: {
    id: uuidPrimaryKey,
    tenantId: { kind: 'm:1', entity: 'Tenant', mapToPk: true, deleteRule: 'cascade', fieldName: 'tenant_id' },
    userId: { kind: 'm:1', entity: 'User', mapToPk: true, deleteRule: 'cascade', fieldName: 'user_id' },
    purpose: { enum: true, items: () => PASSWORD_LINK_PURPOSES },
    tokenHash: { type: 'text', unique: 'password_links_token_hash_key' },
    taskId: { type: 'uuid', nullable: true },
    expiresAt: { type: 'Date', columnType: 'timestamptz' },
    usedAt: { type: 'Date', columnType: 'timestamptz', nullable: true },
    createdAt: createdAtColumn,
  },
  indexes: [{ name: 'password_links_user_idx', properties: ['userId'] }],
});
