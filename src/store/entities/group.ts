import { EntitySchema, type OptionalProps } from '@mikro-orm/core';
import { createdAtColumn, updatedAtColumn, uuidPrimaryKey } from './columns.ts';

export interface Group {
  [OptionalProps]?: 'id' | 'externalId' | 'version' | 'createdAt' | 'updatedAt';
  id: string;
  tenantId: string;
  /** Unique per tenant, case-insensitively. */
  displayName: string;
  externalId: string | null;
  version: number;
  createdAt: Date;
  updatedAt: Date;
}

export const GroupSchema = new EntitySchema<Group>({
  name: 'Group',
  tableName: 'groups',
  properties: {
    id: uuidPrimaryKey,
    tenantId: { kind: 'm:1', entity: 'Tenant', mapToPk: true, deleteRule: 'cascade', fieldName: 'tenant_id' },
    displayName: { type: 'text' },
    externalId: { type: 'text', nullable: true },
    version: { type: 'integer', version: true },
    createdAt: createdAtColumn,
    updatedAt: updatedAtColumn,
  },
  indexes: [
    { name: 'groups_tenant_display_name_key', expression: 'create unique index "groups_tenant_display_name_key" on "groups" ("tenant_id", lower("display_name"))' },
    { name: 'groups_tenant_id_idx', properties: ['tenantId', 'id'] },
    { name: 'groups_tenant_external_id_idx', properties: ['tenantId', 'externalId'] },
  ],
});

/**
 * A user's membership in a group; the pair is the key, so adding twice is harmless. `display` is
 * the name the IdP gave the member when adding it, if any.
 */
export interface GroupMembership {
  [OptionalProps]?: 'createdAt' | 'display';
  /** The group's tenant, so every table of a tenant's data carries tenant_id (README: Scaling). */
  tenantId: string;
  groupId: string;
  userId: string;
  display?: string | null;
  createdAt: Date;
}

export const GroupMembershipSchema = new EntitySchema<GroupMembership>({
  name: 'GroupMembership',
  tableName: 'group_memberships',
  properties: {
    tenantId: { kind: 'm:1', entity: 'Tenant', mapToPk: true, deleteRule: 'cascade', fieldName: 'tenant_id' },
    groupId: { kind: 'm:1', entity: 'Group', mapToPk: true, primary: true, deleteRule: 'cascade', fieldName: 'group_id' },
    userId: { kind: 'm:1', entity: 'User', mapToPk: true, primary: true, deleteRule: 'cascade', fieldName: 'user_id' },
    display: { type: 'text', nullable: true },
    createdAt: createdAtColumn,
  },
  indexes: [{ name: 'group_memberships_user_idx', properties: ['userId'] }],
});
