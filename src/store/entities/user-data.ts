import { EntitySchema, type OptionalProps } from '@mikro-orm/core';
import { createdAtColumn, uuidPrimaryKey } from './columns.ts';

/**
 * Kinds a reset knows how to clear. Devices may upload other kinds (e.g. `app_record`); those are
 * stored as given. `shared_contact` rows have no user: they belong to the whole tenant and a reset
 * never touches them.
 */
export const USER_DATA_KINDS = [
  'voicemail_message',
  'voicemail_greeting',
  'answering_rule',
  'custom_contact',
  'shared_contact',
] as const;
export type KnownUserDataKind = (typeof USER_DATA_KINDS)[number];

export interface UserData {
  [OptionalProps]?: 'id' | 'userId' | 'createdAt';
  id: string;
  tenantId: string;
  userId: string | null;
  kind: string;
  payload: Record<string, unknown>;
  createdAt: Date;
}

export const UserDataSchema = new EntitySchema<UserData>({
  name: 'UserData',
  tableName: 'user_data',
  properties: {
    id: uuidPrimaryKey,
    tenantId: { kind: 'm:1', entity: 'Tenant', mapToPk: true, deleteRule: 'cascade', fieldName: 'tenant_id' },
    userId: { kind: 'm:1', entity: 'User', mapToPk: true, nullable: true, deleteRule: 'cascade', fieldName: 'user_id' },
    kind: { type: 'text' },
    payload: { type: 'json' },
    createdAt: createdAtColumn,
  },
  indexes: [
    { name: 'user_data_user_kind_idx', properties: ['userId', 'kind'] },
    { name: 'user_data_tenant_kind_idx', properties: ['tenantId', 'kind'] },
  ],
  checks: [{ name: 'user_data_kind_check', expression: "kind ~ '^[a-z][a-z0-9_]{0,63}$'" }],
});
