import type { EntityManager } from '@mikro-orm/postgresql';
import type { TaskState, TaskType } from '../lifecycle/tasks.ts';
import { sqlIn } from './sql.ts';

/** Task rows as the operator reads them (one tenant at a time). */
export interface TaskRecord {
  id: string;
  type: TaskType;
  state: TaskState;
  userId: string | null;
  operationId: string | null;
  payload: Record<string, unknown>;
  attempts: number;
  maxAttempts: number;
  lastError: string | null;
  reason: string | null;
  result: Record<string, unknown> | null;
  actor: string;
  runAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

const COLUMNS = `id, type, state, user_id as "userId", operation_id as "operationId", payload, attempts, max_attempts as "maxAttempts",
  last_error as "lastError", reason, result, actor, run_at as "runAt", started_at as "startedAt", finished_at as "finishedAt",
  created_at as "createdAt", updated_at as "updatedAt"`;

export async function findTaskById(em: EntityManager, tenantId: string, id: string): Promise<TaskRecord | null> {
  const [row] = await sqlIn(em)<TaskRecord>(`select ${COLUMNS} from tasks where id = ? and tenant_id = ?`, [id, tenantId]);
  return row ?? null;
}

export interface TaskListQuery {
  tenantId: string;
  states?: readonly TaskState[];
  userId?: string;
  type?: TaskType;
  /** Keyset: the last (updatedAt, id) of the previous page; newest first. */
  before?: { updatedAt: string; id: string };
  limit: number;
}

/** Newest first: the work inbox (needs_decision, held, failed) and a user's task history. */
export async function findTasks(em: EntityManager, query: TaskListQuery): Promise<{ tasks: TaskRecord[]; hasMore: boolean }> {
  const where = ['tenant_id = ?'];
  const params: unknown[] = [query.tenantId];
  if (query.states?.length) {
    where.push('state = any(?::text[])');
    params.push(`{${query.states.join(',')}}`);
  }
  if (query.userId) {
    where.push('user_id = ?');
    params.push(query.userId);
  }
  if (query.type) {
    where.push('type = ?');
    params.push(query.type);
  }
  if (query.before) {
    where.push('(updated_at, id) < (?::timestamptz, ?::uuid)');
    params.push(query.before.updatedAt, query.before.id);
  }
  const rows = await sqlIn(em)<TaskRecord>(`select ${COLUMNS} from tasks where ${where.join(' and ')} order by updated_at desc, id desc limit ?`, [
    ...params,
    query.limit + 1,
  ]);
  return { tasks: rows.slice(0, query.limit), hasMore: rows.length > query.limit };
}
