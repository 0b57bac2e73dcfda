import type { EntityManager } from '@mikro-orm/postgresql';
import { TERMINAL_TASK_STATES, type TaskState, type TaskType } from '../lifecycle/tasks.ts';
import type { Task } from './entities/index.ts';
import { insertSelect, pgArray, sqlExpression, sqlIn, sqlRun, withDates, type SqlFragment, type InsertColumn, type SqlExpression } from './sql.ts';

/**
 * Task rows: the only code that writes them (the outbox, src/store/entities/task.ts), and their
 * readers. Every write is a named function executed at once, in the caller's transaction.
 *
 * State changes are guarded by their source states, bump the row's version and check the rows
 * they changed:
 * - a change of rows the caller read before (locked, or listed and then checked elsewhere) is
 *   also guarded by the version it read (a `TaskRef`): a row changed since is left alone;
 * - a change that picks its rows in the same statement (a claim, a cancel by dedupe key, an
 *   admin's decision on held tasks) is guarded by the state as the row stands under the lock the
 *   UPDATE takes, and its version bump makes every earlier reader's guard fail.
 * What moved is returned (ids, or the new version); null or an empty list means nothing did.
 * Changes that must move every row they were given throw TaskChangedError instead.
 */

/** A task row as read, for a guard: its id and the version read. */
export type TaskRef = Pick<Task, 'id' | 'version'>;

/** A guarded change found fewer rows than it was given: they moved on since they were read. */
export class TaskChangedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TaskChangedError';
  }
}

/** States a job may (re)claim its task from. `running` covers a worker that died mid-way. */
const CLAIMABLE: readonly TaskState[] = ['pending', 'enqueued', 'running', 'waiting_for_device'];

const TERMINAL = TERMINAL_TASK_STATES.map((s) => `'${s}'`).join(', ');
/** The partial unique index `tasks_live_dedupe_key`: at most one live task per key. */
const ON_LIVE_KEY_CONFLICT = `on conflict (tenant_id, dedupe_key) where dedupe_key is not null and state not in (${TERMINAL})`;

/** Every column of a task row, named as the Task entity names them (toTask makes the dates Date). */
const TASK_COLUMNS = `id, tenant_id as "tenantId", type, user_id as "userId", operation_id as "operationId", state, payload, attempts,
  max_attempts as "maxAttempts", last_error as "lastError", reason, run_at as "runAt", result, actor, dedupe_key as "dedupeKey",
  enqueued_at as "enqueuedAt", started_at as "startedAt", finished_at as "finishedAt", version, created_at as "createdAt", updated_at as "updatedAt"`;

const TASK_DATES = ['runAt', 'enqueuedAt', 'startedAt', 'finishedAt', 'createdAt', 'updatedAt'] as const;
const toTask = (row: Task): Task => withDates(row, TASK_DATES);

const refsParams = (tasks: readonly TaskRef[]) => [pgArray(tasks.map((t) => t.id)), pgArray(tasks.map((t) => String(t.version)))];
/** `v(id, version)` rows for a guard over several tasks read before. */
const REFS = `unnest(?::uuid[], ?::int[]) as v(id, version)`;

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

const toTaskRecord = (row: TaskRecord): TaskRecord => withDates(row, ['runAt', 'startedAt', 'finishedAt', 'createdAt', 'updatedAt']);

export async function findTaskById(em: EntityManager, tenantId: string, id: string): Promise<TaskRecord | null> {
  const [row] = await sqlIn(em)<TaskRecord>(`select ${COLUMNS} from tasks where id = ? and tenant_id = ?`, [id, tenantId]);
  return row ? toTaskRecord(row) : null;
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
  return { tasks: rows.slice(0, query.limit).map(toTaskRecord), hasMore: rows.length > query.limit };
}

// ---------------------------------------------------------------------------------------------
// Inserting tasks

/** The columns of a task insert; those left out take their defaults. */
export interface TaskInsertValues {
  id?: string | SqlExpression;
  tenantId: string | SqlExpression;
  type: TaskType | SqlExpression;
  userId?: string | null | SqlExpression;
  operationId?: string | null | SqlExpression;
  state?: 'pending' | 'held' | SqlExpression;
  reason?: string | null | SqlExpression;
  payload?: object | SqlExpression;
  /** What explains a held task (the guard's count and limit), read back as `result`. */
  result?: object | null | SqlExpression;
  actor: string | SqlExpression;
  dedupeKey?: string | null | SqlExpression;
  runAt?: Date | SqlExpression;
}

const TASK_INSERT: Record<keyof TaskInsertValues, InsertColumn> = {
  id: { column: 'id', cast: 'uuid', default: 'gen_random_uuid()' },
  tenantId: { column: 'tenant_id', cast: 'uuid' },
  type: { column: 'type', cast: 'text' },
  userId: { column: 'user_id', cast: 'uuid', default: 'null' },
  operationId: { column: 'operation_id', cast: 'uuid', default: 'null' },
  state: { column: 'state', cast: 'text', default: `'pending'` },
  reason: { column: 'reason', cast: 'text', default: 'null' },
  payload: { column: 'payload', cast: 'jsonb', default: `'{}'::jsonb` },
  result: { column: 'result', cast: 'jsonb', default: 'null' },
  actor: { column: 'actor', cast: 'text' },
  dedupeKey: { column: 'dedupe_key', cast: 'text', default: 'null' },
  runAt: { column: 'run_at', cast: 'timestamptz', default: 'now()' },
};

/**
 * `insert into tasks (...) select ... from <from>`: the one column list and defaults of a task
 * insert, for store code that inserts tasks inside a larger statement (a CTE beside the change
 * that needs them, so the change and its outbox rows are one round trip). Values are constants or
 * expressions over `from`'s rows (sqlExpression).
 */
export function insertTasksSql(values: TaskInsertValues, from?: SqlFragment): SqlFragment {
  return insertSelect('tasks', TASK_INSERT, values as unknown as Record<string, unknown>, from);
}

/** Tasks of one type for one tenant, asked for by one actor. */
export interface NewTasks {
  tenantId: string;
  type: TaskType;
  actor: string;
  /** The bulk operation they belong to. */
  operationId?: string | null;
  /** A task whose dedupe key a live task holds already is left out, without an error. */
  skipTakenKeys?: boolean;
}

export interface NewTask {
  userId?: string | null;
  payload?: object;
  /** At most one live task per key (tenant-wide). */
  dedupeKey?: string;
  /** Not before this time (one in the past means now). */
  runAt?: Date;
  /** Not before this many seconds from now (the database's clock). */
  delaySeconds?: number;
}

/** Inserts the tasks `pending`, in one statement whatever their number; returns how many. */
export async function insertTasks(em: EntityManager, batch: NewTasks, tasks: readonly NewTask[]): Promise<number> {
  if (!tasks.length) return 0;
  const insert = insertTasksStatement(batch, tasks);
  return sqlRun(em)(insert.sql, insert.params);
}

/** One task; its id, or null when `skipTakenKeys` left it out. */
export async function insertTask(em: EntityManager, batch: NewTasks, task: NewTask = {}): Promise<string | null> {
  const insert = insertTasksStatement(batch, [task]);
  const [row] = await sqlIn(em)<{ id: string }>(`${insert.sql} returning id`, insert.params);
  return row?.id ?? null;
}

function insertTasksStatement(batch: NewTasks, tasks: readonly NewTask[]): SqlFragment {
  const x = (expression: string) => sqlExpression(expression);
  const insert = insertTasksSql(
    {
      tenantId: batch.tenantId,
      type: batch.type,
      actor: batch.actor,
      ...(batch.operationId ? { operationId: batch.operationId } : {}),
      userId: x('x.user_id'),
      payload: x(`coalesce(x.payload, '{}'::jsonb)`),
      dedupeKey: x('x.dedupe_key'),
      runAt: x('greatest(coalesce(x.run_at, now()), now() + make_interval(secs => coalesce(x.delay_seconds, 0)))'),
    },
    {
      sql: `jsonb_to_recordset(?::jsonb) as x(user_id uuid, payload jsonb, dedupe_key text, run_at timestamptz, delay_seconds int)`,
      params: [
        JSON.stringify(
          tasks.map((t) => ({ user_id: t.userId ?? null, payload: t.payload, dedupe_key: t.dedupeKey, run_at: t.runAt?.toISOString(), delay_seconds: t.delaySeconds })),
        ),
      ],
    },
  );
  if (!batch.skipTakenKeys) return insert;
  // Not even tried when a live task holds the key: an insert that meets the unique key of an
  // uncommitted one waits for that transaction. One not committed yet is met by the conflict.
  return {
    sql: `${insert.sql}
      where x.dedupe_key is null
         or not exists (select 1 from tasks l where l.tenant_id = ?::uuid and l.dedupe_key = x.dedupe_key and l.state not in (${TERMINAL}))
      ${ON_LIVE_KEY_CONFLICT} do nothing`,
    params: [...insert.params, batch.tenantId],
  };
}

/** One task per tenant (the live key skips a tenant whose task is still waiting or running); how many. */
export async function insertTaskForEachTenant(em: EntityManager, task: { type: TaskType; actor: string; dedupeKey: string }): Promise<number> {
  const insert = insertTasksSql({ tenantId: sqlExpression('t.id'), type: task.type, actor: task.actor, dedupeKey: task.dedupeKey }, { sql: 'tenants t', params: [] });
  return sqlRun(em)(`${insert.sql} ${ON_LIVE_KEY_CONFLICT} do nothing`, insert.params);
}

/**
 * A task `held` for an admin's decision (the mass-deprovision guard), one live per dedupe key: a
 * key already live keeps its task, whose payload this one replaces. Returns the task's id.
 */
export async function holdTask(
  em: EntityManager,
  task: { tenantId: string; userId: string; type: TaskType; payload: object; actor: string; dedupeKey: string; reason: string; result?: object },
): Promise<string> {
  const insert = insertTasksSql({ ...task, state: 'held' });
  const [row] = await sqlIn(em)<{ id: string }>(
    `${insert.sql} ${ON_LIVE_KEY_CONFLICT} do update set payload = excluded.payload, result = coalesce(excluded.result, tasks.result), updated_at = now(), version = tasks.version + 1 returning id`,
    insert.params,
  );
  return row!.id;
}

// ---------------------------------------------------------------------------------------------
// Running tasks (the relay, the runner, the reconciler)

/**
 * The relay's share of the pending tasks whose run-at has come, oldest first, locked for its
 * transaction (FOR UPDATE SKIP LOCKED: several relays share the work).
 */
export async function lockDueTasks(em: EntityManager, limit: number): Promise<Array<Pick<Task, 'id' | 'type' | 'tenantId' | 'version'>>> {
  return sqlIn(em)(
    `select id, type, tenant_id as "tenantId", version from tasks
      where state = 'pending' and run_at <= now()
      order by run_at
      limit ? for update skip locked`,
    [limit],
  );
}

/** pending -> enqueued: the relay handed them to the queue. Throws TaskChangedError unless all moved. */
export async function markTasksEnqueued(em: EntityManager, tasks: readonly TaskRef[]): Promise<void> {
  const moved = await sqlRun(em)(
    `update tasks t set state = 'enqueued', enqueued_at = now(), updated_at = now(), version = t.version + 1
       from ${REFS}
      where t.id = v.id and t.version = v.version and t.state = 'pending'`,
    refsParams(tasks),
  );
  if (moved !== tasks.length) throw new TaskChangedError(`${tasks.length - moved} of ${tasks.length} tasks changed while the relay held them`);
}

/**
 * Claims the tasks for a run: -> `running`, the attempt counted; returns their rows in the same
 * statement. From pending, enqueued, waiting_for_device, or running (a worker that died mid-way).
 * A task in any other state is left out: finished, held or cancelled, it is not run.
 */
export async function claimTasks(em: EntityManager, taskIds: readonly string[]): Promise<Map<string, Task>> {
  const rows = await sqlIn(em)<Task>(
    `update tasks set state = 'running', attempts = attempts + 1, started_at = now(), updated_at = now(), version = version + 1
      where id = any(?::uuid[]) and state = any(?::text[])
      returning ${TASK_COLUMNS}`,
    [pgArray(taskIds), pgArray(CLAIMABLE)],
  );
  return new Map(rows.map((row) => [row.id, toTask(row)]));
}

/**
 * The claimable ones of these tasks, locked for the caller's transaction (FOR UPDATE, in id order
 * so two batches cannot deadlock), unchanged: a batch that claims and records the outcome in one
 * transaction writes each row once (recordTaskOutcomes, `locked`).
 */
export async function lockClaimableTasks(em: EntityManager, taskIds: readonly string[]): Promise<Map<string, Task>> {
  const rows = await sqlIn(em)<Task>(`select ${TASK_COLUMNS} from tasks where id = any(?::uuid[]) and state = any(?::text[]) order by id for update`, [
    pgArray(taskIds),
    pgArray(CLAIMABLE),
  ]);
  return new Map(rows.map((row) => [row.id, toTask(row)]));
}

/** What a processor decided about its task (TaskOutcome in src/queue/processor.ts), as the row records it. */
export interface RecordedOutcome {
  task: TaskRef;
  state: 'succeeded' | 'waiting_for_device' | 'needs_decision';
  result: Record<string, unknown> | null;
  reason: string | null;
}

/**
 * Each task's outcome, in the transaction that holds its effects: one statement for them all.
 * `claimed`: the tasks were claimed (committed `running`) before; `locked`: by lockClaimableTasks
 * in this transaction, so this write also counts the attempt. Guarded by the version read; throws
 * TaskChangedError unless every task was written (someone moved one while it ran: the caller rolls
 * the work back).
 */
export async function recordTaskOutcomes(em: EntityManager, outcomes: readonly RecordedOutcome[], how: 'claimed' | 'locked'): Promise<void> {
  const claimed = how === 'claimed';
  const written = await sqlRun(em)(
    `update tasks t set state = v.state, result = v.result, reason = v.reason, last_error = null,
       finished_at = case when v.state = 'succeeded' then now() else null end, updated_at = now(), version = t.version + 1
       ${claimed ? '' : ', attempts = t.attempts + 1, started_at = now()'}
      from jsonb_to_recordset(?::jsonb) as v(id uuid, version int, state text, result jsonb, reason text)
      where t.id = v.id and t.version = v.version and t.state = any(?::text[])`,
    [
      JSON.stringify(outcomes.map((o) => ({ id: o.task.id, version: o.task.version, state: o.state, result: o.result, reason: o.reason }))),
      pgArray(claimed ? ['running'] : CLAIMABLE),
    ],
  );
  if (written !== outcomes.length) throw new TaskChangedError('task changed state while running; its effects were rolled back');
}

/**
 * A failed attempt, from one of `from`: back to `enqueued` for a retry, or `failed` for good.
 * `error` null keeps the last error recorded. Returns the new version, or null when the task had
 * moved on (nothing written).
 */
export async function recordTaskFailure(
  em: EntityManager,
  task: TaskRef,
  failure: { from: readonly TaskState[]; retry: boolean; error: string | null },
): Promise<number | null> {
  const [row] = await sqlIn(em)<{ version: number }>(
    `update tasks set state = ?, last_error = coalesce(?, last_error), finished_at = ${failure.retry ? 'null' : 'now()'},
        updated_at = now(), version = version + 1
      where id = ? and version = ? and state = any(?::text[]) returning version`,
    [failure.retry ? 'enqueued' : 'failed', failure.error, task.id, task.version, pgArray(failure.from)],
  );
  return row?.version ?? null;
}

/**
 * What a run recorded outside its transaction, at once (a sent e-mail: it went out whatever
 * happens to the run). Not guarded by state, since that fact holds whatever the task's state;
 * returns the new version (the run's outcome is guarded by it), or null for no such task.
 */
export async function recordMailSent(em: EntityManager, taskId: string, result: object): Promise<number | null> {
  const [row] = await sqlIn(em)<{ version: number }>(
    `update tasks set result = ?::jsonb, updated_at = now(), version = version + 1 where id = ? returning version`,
    [JSON.stringify(result), taskId],
  );
  return row?.version ?? null;
}

/** Tasks the database says are queued or running, untouched for `graceSeconds`: the reconciler checks their jobs. */
export async function findTasksToReconcile(
  em: EntityManager,
  query: { graceSeconds: number; limit: number },
): Promise<Array<Pick<Task, 'id' | 'type' | 'tenantId' | 'version' | 'state'>>> {
  return sqlIn(em)(
    `select id, type, tenant_id as "tenantId", version, state from tasks
      where state in ('enqueued', 'running', 'waiting_for_device')
        and updated_at < now() - make_interval(secs => ?)
      order by updated_at limit ?`,
    [query.graceSeconds, query.limit],
  );
}

/** Queued or running tasks whose job vanished -> `pending`, for the relay to add again. Returns how many moved. */
export async function requeueVanishedTasks(em: EntityManager, tasks: readonly TaskRef[]): Promise<number> {
  if (!tasks.length) return 0;
  return sqlRun(em)(
    `update tasks t set state = 'pending', updated_at = now(), version = t.version + 1
       from ${REFS}
      where t.id = v.id and t.version = v.version and t.state in ('enqueued', 'running', 'waiting_for_device')`,
    refsParams(tasks),
  );
}

/** Per task type, how long the oldest task due has waited for a worker (pending or enqueued). */
export async function findOldestDueTaskAges(em: EntityManager): Promise<Array<{ type: TaskType; state: 'pending' | 'enqueued'; ageSeconds: number }>> {
  const rows = await sqlIn(em)<{ type: TaskType; state: 'pending' | 'enqueued'; age: string | number }>(
    `select type, state, extract(epoch from now() - min(run_at)) as age from tasks
      where state in ('pending', 'enqueued') and run_at <= now() group by type, state`,
  );
  return rows.map((r) => ({ type: r.type, state: r.state, ageSeconds: Number(r.age) }));
}

// ---------------------------------------------------------------------------------------------
// Operators' and the IdP's moves

/** One task, locked for the caller's transaction (FOR UPDATE); only in `tenantId` when given. */
export async function lockTask(em: EntityManager, taskId: string, scope: { tenantId?: string } = {}): Promise<Task | null> {
  const [row] = await sqlIn(em)<Task>(
    `select ${TASK_COLUMNS} from tasks where id = ?${scope.tenantId ? ' and tenant_id = ?' : ''} for update`,
    scope.tenantId ? [taskId, scope.tenantId] : [taskId],
  );
  return row ? toTask(row) : null;
}

/** A user's reset tasks waiting for a device, oldest first. */
export async function findResetsWaitingForDevice(em: EntityManager, userId: string, scope: { tenantId?: string } = {}): Promise<string[]> {
  const rows = await sqlIn(em)<{ id: string }>(
    `select id from tasks where user_id = ? and type = 'reset' and state = 'waiting_for_device'${scope.tenantId ? ' and tenant_id = ?' : ''}
      order by created_at`,
    scope.tenantId ? [userId, scope.tenantId] : [userId],
  );
  return rows.map((r) => r.id);
}

/**
 * Run the task again from `task.state` (needs_decision, failed, waiting_for_device): -> `pending`
 * at once, for the relay to add again; attempts are kept (they are the history). With
 * `skipPendingData`, a reset goes on without the data still on the devices. Returns the new
 * version, or null when the task had moved on.
 */
export async function retryTask(em: EntityManager, task: TaskRef & Pick<Task, 'state'>, options: { skipPendingData: boolean }): Promise<number | null> {
  const [row] = await sqlIn(em)<{ version: number }>(
    `update tasks set state = 'pending', reason = null, run_at = now(), enqueued_at = null, started_at = null,
        finished_at = null, updated_at = now(), version = version + 1${options.skipPendingData ? SET_SKIP_PENDING_DATA : ''}
      where id = ? and version = ? and state = ? returning version`,
    [task.id, task.version, task.state],
  );
  return row?.version ?? null;
}

const SET_SKIP_PENDING_DATA = `, payload = payload || '{"skipPendingData": true}'::jsonb`;

/**
 * A reset waiting for a device goes on without the data still on it when it next runs (its state
 * unchanged). Returns the new version, or null when the task had moved on.
 */
export async function setSkipPendingData(em: EntityManager, task: TaskRef): Promise<number | null> {
  const [row] = await sqlIn(em)<{ version: number }>(
    `update tasks set updated_at = now(), version = version + 1${SET_SKIP_PENDING_DATA}
      where id = ? and version = ? and state = 'waiting_for_device' returning version`,
    [task.id, task.version],
  );
  return row?.version ?? null;
}

/** Which tasks of a tenant: these ids, the live task of a dedupe key, or (neither) all of them. */
export interface TaskSelection {
  tenantId: string;
  ids?: readonly string[] | null;
  dedupeKey?: string;
}

function selected(selection: TaskSelection, from: readonly TaskState[]): SqlFragment {
  const where = ['tenant_id = ?', 'state = any(?::text[])'];
  const params: unknown[] = [selection.tenantId, pgArray(from)];
  if (selection.ids) {
    where.push('id = any(?::uuid[])');
    params.push(pgArray(selection.ids));
  }
  if (selection.dedupeKey !== undefined) {
    where.push('dedupe_key = ?');
    params.push(selection.dedupeKey);
  }
  return { sql: where.join(' and '), params };
}

/** The selected tasks in one of `from` -> `cancelled`, `result` saying by whom. Returns what moved. */
export async function cancelTasks(
  em: EntityManager,
  selection: TaskSelection,
  change: { from: readonly TaskState[]; result: Record<string, unknown> },
): Promise<Array<{ id: string; userId: string | null }>> {
  const where = selected(selection, change.from);
  return sqlIn(em)(
    `update tasks set state = 'cancelled', finished_at = now(), updated_at = now(), version = version + 1, result = ?::jsonb
      where ${where.sql} returning id, user_id as "userId"`,
    [JSON.stringify(change.result), ...where.params],
  );
}

/** The selected held tasks -> `pending`, due now: an admin approved them. Returns what moved. */
export async function releaseHeldTasks(em: EntityManager, selection: TaskSelection): Promise<Array<{ id: string; userId: string | null }>> {
  const where = selected(selection, ['held']);
  return sqlIn(em)(
    `update tasks set state = 'pending', run_at = now(), updated_at = now(), version = version + 1
      where ${where.sql} returning id, user_id as "userId"`,
    where.params,
  );
}

/** The selected tasks in one of `from` are due at `runAt` instead (one in the past means now). Returns the ids moved. */
export async function rescheduleTasks(em: EntityManager, selection: TaskSelection, change: { from: readonly TaskState[]; runAt: Date }): Promise<string[]> {
  const where = selected(selection, change.from);
  const rows = await sqlIn(em)<{ id: string }>(
    `update tasks set run_at = greatest(?::timestamptz, now()), updated_at = now(), version = version + 1 where ${where.sql} returning id`,
    [change.runAt.toISOString(), ...where.params],
  );
  return rows.map((r) => r.id);
}

/** The channel a trigger on tasks notifies at commit (migration tasks_notify): the relay wakes on it. */
export const TASKS_CHANNEL = 'turnover_tasks';

/** Subscribes a dedicated connection (not a pooled one: LISTEN lives as long as its session) to TASKS_CHANNEL. */
export async function listenForTaskChanges(client: { query(sql: string): Promise<unknown> }): Promise<void> {
  await client.query(`listen ${TASKS_CHANNEL}`);
}
