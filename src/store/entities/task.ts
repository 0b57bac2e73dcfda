import { EntitySchema, type OptionalProps } from '@mikro-orm/core';
import { TASK_STATES, TASK_TYPES, type TaskState, type TaskType } from '../../lifecycle/tasks.ts';
import { createdAtColumn, updatedAtColumn, uuidPrimaryKey } from './columns.ts';

/**
 * The outbox and the durable record of a piece of lifecycle work. A task row is written in the
 * same transaction as the change that needs it; the relay hands it to the queue with
 * jobId = task id, so the database alone answers "what happened to this user".
 */
export interface Task {
  [OptionalProps]?:
    | 'id' | 'userId' | 'operationId' | 'state' | 'payload' | 'attempts' | 'maxAttempts' | 'lastError'
    | 'reason' | 'runAt' | 'result' | 'actor' | 'dedupeKey' | 'enqueuedAt' | 'startedAt' | 'finishedAt'
    | 'version' | 'createdAt' | 'updatedAt';
  id: string;
  tenantId: string;
  type: TaskType;
  userId: string | null;
  operationId: string | null;
  state: TaskState;
  payload: Record<string, unknown>;
  attempts: number;
  maxAttempts: number;
  lastError: string | null;
  /** Why a task waits on a person (e.g. `unable_to_retrieve`, `deprovision_guard`). */
  reason: string | null;
  /** Not before this time (scheduled terminations, backoff of waiting tasks). */
  runAt: Date;
  result: Record<string, unknown> | null;
  /** Who asked: `scim:<token id>`, `admin:<token id>`, `operator:<user id>`, `system`. */
  actor: string;
  /** At most one live task per key (e.g. the scheduled deprovision of one user). */
  dedupeKey: string | null;
  enqueuedAt: Date | null;
  startedAt: Date | null;
  finishedAt: Date | null;
  version: number;
  createdAt: Date;
  updatedAt: Date;
}

export const TaskSchema = new EntitySchema<Task>({
  name: 'Task',
  tableName: 'tasks',
  properties: {
    id: uuidPrimaryKey,
    tenantId: { kind: 'm:1', entity: 'Tenant', mapToPk: true, deleteRule: 'cascade', fieldName: 'tenant_id' },
    type: { enum: true, items: () => TASK_TYPES },
    userId: { kind: 'm:1', entity: 'User', mapToPk: true, nullable: true, fieldName: 'user_id' },
    operationId: { kind: 'm:1', entity: 'Operation', mapToPk: true, nullable: true, deleteRule: 'cascade', fieldName: 'operation_id' },
    state: { enum: true, items: () => TASK_STATES, default: 'pending' },
    payload: { type: 'json', defaultRaw: "'{}'" },
    attempts: { type: 'integer', default: 0 },
    maxAttempts: { type: 'integer', default: 5 },
    lastError: { type: 'text', nullable: true },
    reason: { type: 'text', nullable: true },
    runAt: { type: 'Date', columnType: 'timestamptz', onCreate: () => new Date() },
    result: { type: 'json', nullable: true },
    actor: { type: 'text', default: 'system' },
    dedupeKey: { type: 'text', nullable: true },
    enqueuedAt: { type: 'Date', columnType: 'timestamptz', nullable: true },
    startedAt: { type: 'Date', columnType: 'timestamptz', nullable: true },
    finishedAt: { type: 'Date', columnType: 'timestamptz', nullable: true },
    version: { type: 'integer', version: true },
    createdAt: createdAtColumn,
    updatedAt: updatedAtColumn,
  },
  indexes: [
    // The relay's scan: only pending rows, oldest run-at first; stays tiny however many tasks ran.
    { name: 'tasks_pending_run_at_idx', expression: `create index "tasks_pending_run_at_idx" on "tasks" ("run_at") where "state" = 'pending'` },
    { name: 'tasks_operation_state_idx', properties: ['operationId', 'state'] },
    { name: 'tasks_tenant_user_idx', properties: ['tenantId', 'userId', 'createdAt'] },
    { name: 'tasks_tenant_state_idx', properties: ['tenantId', 'state', 'updatedAt'] },
    // The mass-deprovision guard counts the changes it held within its window.
    {
      name: 'tasks_guard_held_idx',
      expression: `create index "tasks_guard_held_idx" on "tasks" ("tenant_id", "created_at") where "reason" = 'deprovision_guard'`,
    },
    {
      name: 'tasks_live_dedupe_key',
      expression: `create unique index "tasks_live_dedupe_key" on "tasks" ("tenant_id", "dedupe_key") where "dedupe_key" is not null and "state" not in ('succeeded', 'failed', 'cancelled')`,
    },
  ],
  checks: [
    { name: 'tasks_attempts_check', expression: 'attempts >= 0 and max_attempts >= 1' },
  ],
});
