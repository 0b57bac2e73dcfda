import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TaskState } from '../../src/lifecycle/tasks.ts';
import { insertAuditEntries, insertAuditEntriesSql } from '../../src/store/audit.ts';
import type { Task } from '../../src/store/entities/index.ts';
import { decideHeldTasks } from '../../src/store/held-tasks.ts';
import { openOrm, type Orm } from '../../src/store/orm.ts';
import { sqlExpression } from '../../src/store/sql.ts';
import {
  cancelTasks,
  claimTasks,
  holdTask,
  insertTask,
  insertTasks,
  insertTasksSql,
  lockClaimableTasks,
  lockDueTasks,
  lockTask,
  markTasksEnqueued,
  recordMailSent,
  recordTaskFailure,
  recordTaskOutcomes,
  releaseHeldTasks,
  requeueVanishedTasks,
  rescheduleTasks,
  retryTask,
  setSkipPendingData,
  TaskChangedError,
} from '../../src/store/tasks.ts';
import { ensureDefaultTenant } from '../../src/store/tenants.ts';
import { createTestDatabase } from '../support/database.ts';

/**
 * src/store/tasks.ts is the one writer of task rows. What must hold: a state change moves only a
 * row in one of its source states and, when the caller read the row before, at the version read;
 * it bumps the version; and a change that found nothing to move says so (null, an empty list, or
 * TaskChangedError) and writes nothing.
 */
describe('task rows', () => {
  let orm: Orm;
  let tenantId: string;
  const em = () => orm.em.fork();

  beforeAll(async () => {
    orm = await openOrm({ databaseUrl: await createTestDatabase('store_tasks') });
    tenantId = (await ensureDefaultTenant(orm.em.fork())).id;
  });
  afterAll(async () => {
    await orm?.close();
  });

  async function row(id: string): Promise<Task> {
    return (await lockTask(em(), id))!;
  }

  /** A task put straight into `state` (the fixture), at version 1. */
  async function taskIn(state: TaskState, extra: { dedupeKey?: string; type?: Task['type'] } = {}): Promise<Task> {
    const id = (await insertTask(em(), { tenantId, type: extra.type ?? 'ban', actor: 'test' }, { ...(extra.dedupeKey ? { dedupeKey: extra.dedupeKey } : {}) }))!;
    await em().getConnection().execute(`update tasks set state = ? where id = ?`, [state, id]);
    return row(id);
  }

  it('inserts tasks with the defaults of the one column list', async () => {
    const id = (await insertTask(em(), { tenantId, type: 'reset', actor: 'test' }, { payload: { options: {} }, delaySeconds: 60 }))!;
    const task = await row(id);
    expect(task).toMatchObject({ state: 'pending', attempts: 0, maxAttempts: 5, version: 1, payload: { options: {} }, actor: 'test', reason: null });
    expect(task.runAt.getTime()).toBeGreaterThan(Date.now() + 30_000);
    // A run-at in the past means now.
    const past = (await insertTask(em(), { tenantId, type: 'ban', actor: 'test' }, { runAt: new Date('2000-01-01T00:00:00Z') }))!;
    expect((await row(past)).runAt.getTime()).toBeGreaterThan(Date.now() - 60_000);
    expect(await insertTasks(em(), { tenantId, type: 'ban', actor: 'test' }, [{}, {}, {}])).toBe(3);
  });

  it('skips a dedupe key a live task holds, and only when asked', async () => {
    const key = `key-${Date.now()}`;
    const batch = { tenantId, type: 'purge' as const, actor: 'test', skipTakenKeys: true };
    const first = await insertTask(em(), batch, { dedupeKey: key });
    expect(first).not.toBeNull();
    expect(await insertTask(em(), batch, { dedupeKey: key })).toBeNull();
    await expect(insertTask(em(), { ...batch, skipTakenKeys: false }, { dedupeKey: key })).rejects.toThrow(/tasks_live_dedupe_key/);
    // Once the first has finished, the key is free again.
    await cancelTasks(em(), { tenantId, ids: [first!] }, { from: ['pending'], result: {} });
    expect(await insertTask(em(), batch, { dedupeKey: key })).not.toBeNull();
  });

  it('holds one task per key and replaces the held payload', async () => {
    const user = await em().getConnection().execute<{ id: string }[]>(
      `insert into users (id, tenant_id, user_name, status, status_changed_at) values (gen_random_uuid(), ?, ?, 'active', now()) returning id`,
      [tenantId, `held.${Date.now()}@example.org`],
    );
    const input = { tenantId, userId: user[0]!.id, type: 'deprovision' as const, actor: 'test', dedupeKey: `held:${user[0]!.id}`, reason: 'deprovision_guard' };
    const id = await holdTask(em(), { ...input, payload: { idpEvent: 'scim_deactivate' } });
    expect(await holdTask(em(), { ...input, payload: { idpEvent: 'scim_delete' } })).toBe(id);
    expect(await row(id)).toMatchObject({ state: 'held', reason: 'deprovision_guard', payload: { idpEvent: 'scim_delete' }, version: 2 });
  });

  it('claims only claimable tasks, bumping the version and counting the attempt', async () => {
    const pending = await taskIn('pending');
    const held = await taskIn('held');
    const claimed = await claimTasks(em(), [pending.id, held.id]);
    expect([...claimed.keys()]).toEqual([pending.id]);
    expect(claimed.get(pending.id)).toMatchObject({ state: 'running', attempts: 1, version: 2 });
    expect(await row(held.id)).toMatchObject({ state: 'held', version: 1 });
  });

  it('records outcomes only at the version claimed, and throws when one moved', async () => {
    const task = (await claimTasks(em(), [(await taskIn('pending')).id])).values().next().value!;
    const outcome = { state: 'succeeded' as const, result: { ok: true }, reason: null };
    // Stale version: nothing written, the caller is told.
    await expect(recordTaskOutcomes(em(), [{ task: { id: task.id, version: task.version - 1 }, ...outcome }], 'claimed')).rejects.toBeInstanceOf(TaskChangedError);
    expect(await row(task.id)).toMatchObject({ state: 'running', version: task.version, result: null });
    // Wrong source state (claimed, then cancelled by someone): nothing written either.
    const other = (await claimTasks(em(), [(await taskIn('pending')).id])).values().next().value!;
    await em().getConnection().execute(`update tasks set state = 'cancelled' where id = ?`, [other.id]);
    await expect(
      orm.em.fork().transactional((tx) => recordTaskOutcomes(tx, [{ task, ...outcome }, { task: other, ...outcome }], 'claimed')),
    ).rejects.toThrow('task changed state while running');
    expect(await row(task.id)).toMatchObject({ state: 'running', version: task.version });
    await recordTaskOutcomes(em(), [{ task, ...outcome }], 'claimed');
    expect(await row(task.id)).toMatchObject({ state: 'succeeded', version: task.version + 1, result: { ok: true } });
  });

  it('records a batch outcome on locked rows, counting the attempt there', async () => {
    const [a, b] = [await taskIn('enqueued'), await taskIn('failed')];
    await orm.em.fork().transactional(async (tx) => {
      const locked = await lockClaimableTasks(tx, [a.id, b.id]);
      expect([...locked.keys()]).toEqual([a.id]);
      await recordTaskOutcomes(tx, [{ task: locked.get(a.id)!, state: 'needs_decision', result: null, reason: 'unable_to_retrieve' }], 'locked');
    });
    expect(await row(a.id)).toMatchObject({ state: 'needs_decision', reason: 'unable_to_retrieve', attempts: 1, version: 2 });
  });

  it('records a failure only from the given states at the version read', async () => {
    const task = (await claimTasks(em(), [(await taskIn('pending')).id])).values().next().value!;
    expect(await recordTaskFailure(em(), { id: task.id, version: task.version + 1 }, { from: ['running'], retry: true, error: 'boom' })).toBeNull();
    expect(await recordTaskFailure(em(), task, { from: ['enqueued'], retry: true, error: 'boom' })).toBeNull();
    expect(await row(task.id)).toMatchObject({ state: 'running', lastError: null, version: task.version });
    expect(await recordTaskFailure(em(), task, { from: ['running'], retry: true, error: 'boom' })).toBe(task.version + 1);
    expect(await row(task.id)).toMatchObject({ state: 'enqueued', lastError: 'boom', finishedAt: null });
    // null keeps the last error; a failure for good is finished.
    expect(await recordTaskFailure(em(), { id: task.id, version: task.version + 1 }, { from: ['enqueued'], retry: false, error: null })).toBe(task.version + 2);
    const failed = await row(task.id);
    expect(failed).toMatchObject({ state: 'failed', lastError: 'boom' });
    expect(failed.finishedAt).toBeInstanceOf(Date);
  });

  it('a recorded e-mail moves the version, so the run guards with the new one', async () => {
    const task = (await claimTasks(em(), [(await taskIn('pending', { type: 'welcome_email' })).id])).values().next().value!;
    const version = await recordMailSent(em(), task.id, { sentAt: 'now' });
    expect(version).toBe(task.version + 1);
    await expect(recordTaskOutcomes(em(), [{ task, state: 'succeeded', result: null, reason: null }], 'claimed')).rejects.toBeInstanceOf(TaskChangedError);
    await recordTaskOutcomes(em(), [{ task: { id: task.id, version: version! }, state: 'succeeded', result: { sentAt: 'now' }, reason: null }], 'claimed');
    expect(await row(task.id)).toMatchObject({ state: 'succeeded' });
  });

  it('marks enqueued only what the relay locked, at the version locked', async () => {
    const task = await taskIn('pending');
    await orm.em.fork().transactional(async (tx) => {
      const due = await lockDueTasks(tx, 10_000);
      const mine = due.find((t) => t.id === task.id)!;
      expect(mine).toMatchObject({ type: 'ban', tenantId, version: 1 });
      await expect(markTasksEnqueued(tx, [{ id: mine.id, version: 7 }])).rejects.toBeInstanceOf(TaskChangedError);
    });
    expect(await row(task.id)).toMatchObject({ state: 'pending', version: 1 });
    await markTasksEnqueued(em(), [task]);
    const enqueued = await row(task.id);
    expect(enqueued).toMatchObject({ state: 'enqueued', version: 2 });
    expect(enqueued.enqueuedAt).toBeInstanceOf(Date);
  });

  it('requeues a vanished task only at the version the reconciler read', async () => {
    const [a, b, c] = [await taskIn('running'), await taskIn('enqueued'), await taskIn('succeeded')];
    expect(await requeueVanishedTasks(em(), [a, { id: b.id, version: b.version + 1 }, c])).toBe(1);
    expect((await row(a.id)).state).toBe('pending');
    expect((await row(b.id)).state).toBe('enqueued');
    expect((await row(c.id)).state).toBe('succeeded');
  });

  it('retries and skips pending data only from the state and version read', async () => {
    const task = await taskIn('waiting_for_device', { type: 'reset' });
    expect(await setSkipPendingData(em(), { id: task.id, version: 5 })).toBeNull();
    const skipped = await setSkipPendingData(em(), task);
    expect(skipped).toBe(task.version + 1);
    expect(await row(task.id)).toMatchObject({ state: 'waiting_for_device', payload: { skipPendingData: true } });
    // The version read before the flag was set is stale now.
    expect(await retryTask(em(), task, { skipPendingData: false })).toBeNull();
    expect(await retryTask(em(), { ...task, version: skipped!, state: 'needs_decision' }, { skipPendingData: false })).toBeNull();
    expect(await retryTask(em(), { ...task, version: skipped! }, { skipPendingData: false })).toBe(skipped! + 1);
    expect(await row(task.id)).toMatchObject({ state: 'pending', reason: null, startedAt: null, payload: { skipPendingData: true } });
    const failed = await taskIn('failed');
    await retryTask(em(), failed, { skipPendingData: true });
    expect(await row(failed.id)).toMatchObject({ state: 'pending', payload: { skipPendingData: true } });
  });

  it('cancels, releases and reschedules only tasks in their source states', async () => {
    const key = `termination-${Date.now()}`;
    const running = await taskIn('running', { dedupeKey: key });
    const scheduled = { tenantId, dedupeKey: key };
    expect(await rescheduleTasks(em(), scheduled, { from: ['pending', 'held'], runAt: new Date(Date.now() + 86_400_000) })).toEqual([]);
    expect(await cancelTasks(em(), scheduled, { from: ['pending', 'held'], result: { cancelledBy: 'test' } })).toEqual([]);
    expect(await row(running.id)).toMatchObject({ state: 'running', version: 1 });

    const held = await taskIn('held');
    const pending = await taskIn('pending');
    expect(await releaseHeldTasks(em(), { tenantId, ids: [held.id, pending.id] })).toEqual([{ id: held.id, userId: null }]);
    expect(await row(held.id)).toMatchObject({ state: 'pending', version: 2 });
    expect(await row(pending.id)).toMatchObject({ state: 'pending', version: 1 });
    expect(await cancelTasks(em(), { tenantId, ids: [held.id] }, { from: ['held'], result: {} })).toEqual([]);
    expect(await cancelTasks(em(), { tenantId, ids: [held.id] }, { from: ['pending'], result: { cancelledBy: 'test' } })).toEqual([
      { id: held.id, userId: null },
    ]);
    expect(await row(held.id)).toMatchObject({ state: 'cancelled', result: { cancelledBy: 'test' }, version: 3 });
  });

  it('audits each held decision, and nothing for a task that was not held', async () => {
    const held = await taskIn('held');
    const pending = await taskIn('pending');
    expect(await decideHeldTasks(em(), { tenantId, taskIds: [held.id, pending.id], decision: 'reject', actor: 'operator:test' })).toEqual({ taskIds: [held.id] });
    const entries = await em().getConnection().execute<{ task_id: string; action: string }[]>(
      `select task_id, action from audit_entries where task_id = any(?::uuid[])`,
      [`{${held.id},${pending.id}}`],
    );
    expect(entries).toEqual([{ task_id: held.id, action: 'task.held_rejected' }]);
    expect(await row(held.id)).toMatchObject({ state: 'cancelled', result: { rejectedBy: 'operator:test' } });
  });
});

describe('insert fragments', () => {
  let orm: Orm;
  let tenantId: string;

  beforeAll(async () => {
    orm = await openOrm({ databaseUrl: await createTestDatabase('store_fragments') });
    tenantId = (await ensureDefaultTenant(orm.em.fork())).id;
  });
  afterAll(async () => {
    await orm?.close();
  });

  it('insert tasks and audit entries inside one statement, with the defaults of the immediate inserts', async () => {
    const x = sqlExpression;
    const source = { sql: `(select ?::uuid as tenant_id, 'fragment' as actor) s`, params: [tenantId] };
    const tasks = insertTasksSql({ tenantId: x('s.tenant_id'), type: 'guard_alert', actor: x('s.actor') }, source);
    const audit = insertAuditEntriesSql({ tenantId: x('s.tenant_id'), actor: x('s.actor'), action: 'test.fragment', details: { n: 1 } }, source);
    const em = orm.em.fork();
    await em.getConnection().execute(`with t as (${tasks.sql} returning 1), a as (${audit.sql} returning 1) select 1`, [...tasks.params, ...audit.params]);
    await insertAuditEntries(em, [{ tenantId, actor: 'immediate', action: 'test.fragment' }]);
    const [task] = await em.getConnection().execute<Record<string, unknown>[]>(`select state, payload, version, attempts, actor from tasks where actor = 'fragment'`);
    expect(task).toEqual({ state: 'pending', payload: {}, version: 1, attempts: 0, actor: 'fragment' });
    const entries = await em.getConnection().execute<Record<string, unknown>[]>(
      `select actor, user_id, task_id, details from audit_entries where action = 'test.fragment' order by id`,
    );
    expect(entries).toEqual([
      { actor: 'fragment', user_id: null, task_id: null, details: { n: 1 } },
      { actor: 'immediate', user_id: null, task_id: null, details: {} },
    ]);
  });
});
