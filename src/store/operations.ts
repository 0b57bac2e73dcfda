import type { EntityManager } from '@mikro-orm/postgresql';
import { TERMINAL_TASK_STATES, type OperationState, type TaskPayloads, type TaskState, type TaskType } from '../lifecycle/tasks.ts';
import { deleteOperationTargets, operationTargetsFrom } from './operation-targets.ts';
import { sqlExpression, sqlIn, sqlRun } from './sql.ts';
import { insertTasks, insertTasksSql } from './tasks.ts';

/**
 * Operations (a bulk action: one task per selected user). The operation row and its task rows are
 * written in the caller's transaction, tasks `pending`, so the relay enqueues them only once the
 * whole operation is committed.
 */
export interface NewOperation<T extends TaskType> {
  tenantId: string;
  /** The operator's action name (e.g. `permanent_delete`), kept as asked. */
  action: string;
  /** The options as asked, without personal data (recycle names stay in the task payloads). */
  options: Record<string, unknown>;
  actor: string;
  taskType: T;
  /**
   * One task per user: these, or one per user its dry run resolved from a selection and kept
   * under `confirmTokenHash` (operation-targets.ts), all with the same payload.
   */
  tasks: Array<{ userId: string; payload: TaskPayloads[T] }> | { keptTargets: true; payload: TaskPayloads[T] };
  /** The hash of the confirm token this run was confirmed with, if any (see below). */
  confirmTokenHash?: string;
}

export type InsertedOperation = { ok: true; id: string; total: number } | { ok: false; confirmationUsedBy: string };

/**
 * A confirm token starts one operation: its hash goes on the operation row under a unique
 * constraint. A second request with the same token inserts nothing (a concurrent one waits for
 * the first to commit or roll back, then sees its row) and gets the operation the first started.
 */
export async function insertOperation<T extends TaskType>(em: EntityManager, input: NewOperation<T>): Promise<InsertedOperation> {
  const sql = sqlIn(em);
  const listed = Array.isArray(input.tasks) ? input.tasks : null;
  const [operation] = await sql<{ id: string }>(
    `insert into operations (id, tenant_id, action, options, actor, state, total, created_at, confirm_token_hash)
     values (gen_random_uuid(), ?, ?, ?::jsonb, ?, 'running', ?, now(), ?)
     on conflict (confirm_token_hash) do nothing returning id`,
    [input.tenantId, input.action, JSON.stringify(input.options), input.actor, listed?.length ?? 0, input.confirmTokenHash ?? null],
  );
  if (!operation) {
    const [first] = await sql<{ id: string }>(`select id from operations where confirm_token_hash = ?`, [input.confirmTokenHash]);
    return { ok: false, confirmationUsedBy: first!.id };
  }
  const batch = { tenantId: input.tenantId, type: input.taskType, actor: input.actor, operationId: operation.id };
  if (listed) {
    // One statement for every task (10,000 users is one insert, and one NOTIFY from the trigger).
    await insertTasks(em, batch, listed);
    return { ok: true, id: operation.id, total: listed.length };
  }
  // A selection: INSERT ... SELECT from the users its dry run kept (100,000 users, one statement).
  if (!input.confirmTokenHash || Array.isArray(input.tasks)) throw new Error('a selection runs only with the confirm token of its dry run');
  const insert = insertTasksSql(
    { ...batch, userId: sqlExpression('ot.user_id'), payload: input.tasks.payload },
    operationTargetsFrom(input.tenantId, input.confirmTokenHash),
  );
  const total = await sqlRun(em)(insert.sql, insert.params);
  await sql(`update operations set total = ? where id = ?`, [total, operation.id]);
  await deleteOperationTargets(em, input.confirmTokenHash);
  return { ok: true, id: operation.id, total };
}

export interface OperationTaskRow {
  taskId: string;
  userId: string | null;
  userName: string | null;
  displayName: string | null;
  extension: string | null;
  type: TaskType;
  state: TaskState;
  reason: string | null;
  lastError: string | null;
  attempts: number;
  updatedAt: Date;
}

export interface OperationProgress {
  id: string;
  action: string;
  options: Record<string, unknown>;
  actor: string;
  state: OperationState;
  createdAt: Date;
  finishedAt: Date | null;
  /** Tasks by state (a GROUP BY over tasks_operation_state_idx, never a counter row). */
  byState: Partial<Record<TaskState, number>>;
  tasks: OperationTaskRow[];
}

/**
 * The progress view, read live from the task rows. Its state is read from them too: `completed`
 * when no task is live (a task re-driven after the operation finished makes it `running` again).
 * The first read that finds it completed stamps `finished_at` (guarded, so only one reader writes).
 */
export async function findOperationProgress(em: EntityManager, tenantId: string, id: string): Promise<OperationProgress | null> {
  const sql = sqlIn(em);
  const [operation] = await sql<Omit<OperationProgress, 'byState' | 'tasks'>>(
    `select id, action, options, actor, state, created_at as "createdAt", finished_at as "finishedAt"
       from operations where id = ? and tenant_id = ?`,
    [id, tenantId],
  );
  if (!operation) return null;
  const tasks = await sql<OperationTaskRow>(
    `select t.id as "taskId", t.user_id as "userId", u.user_name as "userName", u.display_name as "displayName", u.extension,
            t.type, t.state, t.reason, t.last_error as "lastError", t.attempts, t.updated_at as "updatedAt"
       from tasks t left join users u on u.id = t.user_id
      where t.operation_id = ? order by t.created_at, t.id`,
    [id],
  );
  const byState: Partial<Record<TaskState, number>> = {};
  for (const task of tasks) byState[task.state] = (byState[task.state] ?? 0) + 1;
  const live = tasks.some((task) => !TERMINAL_TASK_STATES.includes(task.state));
  if (live) return { ...operation, state: 'running', finishedAt: null, byState, tasks };
  if (operation.state === 'running') {
    const [done] = await sql<{ finished_at: Date }>(
      `update operations set state = 'completed', finished_at = now() where id = ? and state = 'running' returning finished_at`,
      [id],
    );
    if (done) operation.finishedAt = done.finished_at;
  }
  return { ...operation, state: 'completed', byState, tasks };
}

export interface OperationSummary {
  id: string;
  action: string;
  actor: string;
  createdAt: Date;
  finishedAt: Date | null;
  byState: Partial<Record<TaskState, number>>;
}

/** Newest first, with task counts by state (one GROUP BY over the page's operations). */
export async function findOperations(
  em: EntityManager,
  query: { tenantId: string; before?: { createdAt: string; id: string }; limit: number },
): Promise<{ operations: OperationSummary[]; hasMore: boolean }> {
  const rows = await sqlIn(em)<Omit<OperationSummary, 'byState'> & { by_state: Partial<Record<TaskState, number>> | null }>(
    `select o.id, o.action, o.actor, o.created_at as "createdAt", o.finished_at as "finishedAt",
            (select jsonb_object_agg(c.state, c.n) from (select state, count(*) as n from tasks where operation_id = o.id group by state) c) as by_state
       from operations o
      where o.tenant_id = ?${query.before ? ' and (o.created_at, o.id) < (?::timestamptz, ?::uuid)' : ''}
      order by o.created_at desc, o.id desc limit ?`,
    [query.tenantId, ...(query.before ? [query.before.createdAt, query.before.id] : []), query.limit + 1],
  );
  const operations = rows.slice(0, query.limit).map(({ by_state, ...o }) => ({ ...o, byState: by_state ?? {} }));
  return { operations, hasMore: rows.length > query.limit };
}
