import { EntitySchema, type OptionalProps } from '@mikro-orm/core';
import { OPERATION_STATES, type OperationState } from '../../lifecycle/tasks.ts';
import { createdAtColumn, uuidPrimaryKey } from './columns.ts';

/**
 * A bulk action: one task per selected user. Only `total` is stored; the live counts (succeeded,
 * failed, waiting, running) are a GROUP BY over tasks_operation_state_idx, so 10,000 workers
 * finishing at once never contend on one counter row.
 */
export interface Operation {
  [OptionalProps]?: 'id' | 'options' | 'state' | 'createdAt' | 'finishedAt' | 'confirmTokenHash';
  id: string;
  tenantId: string;
  action: string;
  options: Record<string, unknown>;
  actor: string;
  state: OperationState;
  total: number;
  createdAt: Date;
  finishedAt: Date | null;
  /** SHA-256 of the confirm token that started it: unique, so a token starts one operation only. */
  confirmTokenHash: string | null;
}

export const OperationSchema = new EntitySchema<Operation>({
  name: 'Operation',
  tableName: 'operations',
  properties: {
    id: uuidPrimaryKey,
    tenantId: { kind: 'm:1', entity: 'Tenant', mapToPk: true, deleteRule: 'cascade', fieldName: 'tenant_id' },
    action: { type: 'text' },
    options: { type: 'json', defaultRaw: "'{}'" },
    actor: { type: 'text' },
    state: { enum: true, items: () => OPERATION_STATES, default: 'running' },
    total: { type: 'integer' },
    createdAt: createdAtColumn,
    finishedAt: { type: 'Date', columnType: 'timestamptz', nullable: true },
    confirmTokenHash: { type: 'text', nullable: true, unique: 'operations_confirm_token_hash_key' },
  },
  indexes: [{ name: 'operations_tenant_created_at_idx', properties: ['tenantId', 'createdAt'] }],
});
