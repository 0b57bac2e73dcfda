import { EntitySchema, type OptionalProps } from '@mikro-orm/core';
import type { Policy } from '../../lifecycle/policy.ts';
import { createdAtColumn, updatedAtColumn, uuidPrimaryKey } from './columns.ts';

/** A customer organisation. Everything else belongs to exactly one tenant. */
export interface Tenant {
  [OptionalProps]?: 'id' | 'policy' | 'createdAt' | 'updatedAt';
  id: string;
  name: string;
  /** Stored as given; read through resolvePolicy() so new fields get their defaults. */
  policy: Partial<Policy>;
  createdAt: Date;
  updatedAt: Date;
}

export const DEFAULT_TENANT_NAME = 'default';

export const TenantSchema = new EntitySchema<Tenant>({
  name: 'Tenant',
  tableName: 'tenants',
  properties: {
    id: uuidPrimaryKey,
    name: { type: 'text', unique: 'tenants_name_key' },
    policy: { type: 'json', defaultRaw: "'{}'" },
    createdAt: createdAtColumn,
    updatedAt: updatedAtColumn,
  },
});
