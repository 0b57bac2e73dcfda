import { EntitySchema, type OptionalProps } from '@mikro-orm/core';
import { createdAtColumn, uuidPrimaryKey } from './columns.ts';

/**
 * An `Idempotency-Key` an operator sent (src/http/admin/idempotency.ts): claimed while its request
 * runs (`status` null), then holding the answer to replay for 24 hours. Only hashes of the key and
 * of the request body are kept; the answer is stored as sent, so only routes whose answers hold no
 * secret may be idempotent.
 */
export interface IdempotencyKey {
  [OptionalProps]?: 'id' | 'createdAt' | 'status' | 'responseBody' | 'responseLocation' | 'completedAt';
  id: string;
  tenantId: string;
  /** The operator (`admin:<token id>`, `operator:<user id>`): a key is scoped to who sent it. */
  actor: string;
  /** `POST /admin/users`: and to the route. */
  route: string;
  keyHash: string;
  /** SHA-256 of the body's canonical JSON: the same key with another body is refused. */
  requestHash: string;
  status: number | null;
  responseBody: string | null;
  responseLocation: string | null;
  createdAt: Date;
  completedAt: Date | null;
}

export const IdempotencyKeySchema = new EntitySchema<IdempotencyKey>({
  name: 'IdempotencyKey',
  tableName: 'idempotency_keys',
  properties: {
    id: uuidPrimaryKey,
    tenantId: { kind: 'm:1', entity: 'Tenant', mapToPk: true, deleteRule: 'cascade', fieldName: 'tenant_id' },
    actor: { type: 'text' },
    route: { type: 'text' },
    keyHash: { type: 'text' },
    requestHash: { type: 'text' },
    status: { type: 'integer', nullable: true },
    responseBody: { type: 'text', nullable: true },
    responseLocation: { type: 'text', nullable: true },
    createdAt: createdAtColumn,
    completedAt: { type: 'Date', columnType: 'timestamptz', nullable: true },
  },
  uniques: [{ name: 'idempotency_keys_scope_key', properties: ['tenantId', 'actor', 'route', 'keyHash'] }],
  indexes: [{ name: 'idempotency_keys_created_at_idx', properties: ['createdAt'] }],
});
