import { EntitySchema, type OptionalProps } from '@mikro-orm/core';
import { createdAtColumn, uuidPrimaryKey } from './columns.ts';

export const PHONE_NUMBER_STATES = ['available', 'assigned'] as const;
export type PhoneNumberState = (typeof PHONE_NUMBER_STATES)[number];

/** The tenant's number inventory; a reset may send a user's number back as available. */
export interface PhoneNumber {
  [OptionalProps]?: 'id' | 'state' | 'userId' | 'assignedAt' | 'createdAt';
  id: string;
  tenantId: string;
  /** E.164. */
  number: string;
  state: PhoneNumberState;
  userId: string | null;
  assignedAt: Date | null;
  createdAt: Date;
}

export const PhoneNumberSchema = new EntitySchema<PhoneNumber>({
  name: 'PhoneNumber',
  tableName: 'phone_numbers',
  properties: {
    id: uuidPrimaryKey,
    tenantId: { kind: 'm:1', entity: 'Tenant', mapToPk: true, deleteRule: 'cascade', fieldName: 'tenant_id' },
    number: { type: 'text' },
    state: { enum: true, items: () => PHONE_NUMBER_STATES, default: 'available' },
    userId: { kind: 'm:1', entity: 'User', mapToPk: true, nullable: true, deleteRule: 'no action', fieldName: 'user_id' },
    assignedAt: { type: 'Date', columnType: 'timestamptz', nullable: true },
    createdAt: createdAtColumn,
  },
  uniques: [{ name: 'phone_numbers_tenant_number_key', properties: ['tenantId', 'number'] }],
  indexes: [{ name: 'phone_numbers_user_idx', properties: ['userId'] }],
  checks: [
    { name: 'phone_numbers_number_check', expression: "number ~ '^\\+[1-9][0-9]{1,14}$'" },
    { name: 'phone_numbers_assignment_check', expression: "(state = 'assigned') = (user_id is not null)" },
  ],
});
