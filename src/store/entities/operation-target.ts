import { EntitySchema } from '@mikro-orm/core';

/**
 * One user of a selection as an operation's dry run resolved it (src/store/operation-targets.ts):
 * the confirmed run acts on exactly these rows, not on whoever matches the selection by then. Keyed
 * by the hash of the confirm token the dry run gave out, which is also what the operation row
 * keeps (operations.confirm_token_hash), so the token, its preview and its one run are one thing.
 * No foreign key to users: a user row is never deleted (purged users stay as tombstones), and the
 * run joins users anyway; leaving it out keeps resolving 100,000 users one plain insert.
 */
export interface OperationTarget {
  confirmTokenHash: string;
  userId: string;
  tenantId: string;
  /** The token's expiry: rows past it (and a grace) are swept by the next dry run. */
  expiresAt: Date;
}

export const OperationTargetSchema = new EntitySchema<OperationTarget>({
  name: 'OperationTarget',
  tableName: 'operation_targets',
  properties: {
    confirmTokenHash: { type: 'text', primary: true },
    userId: { type: 'uuid', primary: true },
    tenantId: { kind: 'm:1', entity: 'Tenant', mapToPk: true, deleteRule: 'cascade', fieldName: 'tenant_id' },
    expiresAt: { type: 'Date', columnType: 'timestamptz' },
  },
  indexes: [{ name: 'operation_targets_expires_at_idx', properties: ['expiresAt'] }],
});
