import { randomBytes } from 'node:crypto';
import { UnrecoverableError } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TaskProcessors } from '../../src/queue/processor.ts';
import { loadConfig } from '../../src/config.ts';
import { createLogger } from '../../src/log.ts';
import { startRuntime, type Runtime } from '../../src/main.ts';
import { TaskSchema, TenantSchema, type Task } from '../../src/store/entities/index.ts';
import { createTestDatabase, queueBackendsUnderTest } from '../support/database.ts';

/**
 * The outbox path end to end: a task row committed in PostgreSQL is relayed to BullMQ, run by a
 * worker, and its outcome written back to the row, on each queue backend.
 */
describe.each(queueBackendsUnderTest())('task pipeline on $name', ({ name, redisUrl }) => {
  let runtime: Runtime;
  let tenantId: string;
  const calls: Record<string, number> = {};
  const jobData: Record<string, unknown> = {};
  let flakyFailures = 2;

  const processors: TaskProcessors = {
    ban: async ({ task, job }) => {
      calls[task.id] = (calls[task.id] ?? 0) + 1;
      jobData[task.id] = job.data;
      return { state: 'succeeded', result: { ran: true } };
    },
    unban: async ({ task }) => {
      calls[task.id] = (calls[task.id] ?? 0) + 1;
      if (flakyFailures-- > 0) throw new Error('smtp said 451, try later');
      return { state: 'succeeded' };
    },
    disable: async () => {
      throw new UnrecoverableError('user is purged');
    },
    unlock: async () => ({ state: 'needs_decision', reason: 'unable_to_retrieve' }),
  };

  beforeAll(async () => {
    const config = loadConfig({
      PORT: '0',
      HOST: '127.0.0.1',
      DATABASE_URL: await createTestDatabase(`pipeline_${name}`),
      REDIS_URL: redisUrl,
      QUEUE_PREFIX: `{turnover-${randomBytes(3).toString('hex')}}`,
      WORKER_CONCURRENCY: '4',
    });
    runtime = await startRuntime(config, { api: false, relay: true, workers: true }, createLogger('silent'), { processors });
    tenantId = (await runtime.orm.em.fork().findOneOrFail(TenantSchema, { name: 'default' })).id;
  });
  afterAll(async () => {
    await runtime?.stop();
  });

  async function insertTask(type: Task['type'], extra: Partial<Task> = {}): Promise<string> {
    const em = runtime.orm.em.fork();
    const task = em.create(TaskSchema, { tenantId, type, ...extra });
    await em.flush();
    return task.id;
  }

  async function waitForState(id: string, states: string[], timeoutMs = 20_000): Promise<Task> {
    const started = Date.now();
    for (;;) {
      const task = await runtime.orm.em.fork().findOneOrFail(TaskSchema, { id });
      if (states.includes(task.state)) return task;
      if (Date.now() - started > timeoutMs) throw new Error(`task ${id} is ${task.state}, not ${states.join('|')}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  it('runs a committed task once and records success and result on the row', async () => {
    const id = await insertTask('ban');
    const task = await waitForState(id, ['succeeded']);
    expect(task).toMatchObject({ attempts: 1, result: { ran: true }, lastError: null });
    expect(task.finishedAt).toBeInstanceOf(Date);
    // It went through the outbox: the relay marked it enqueued before the worker claimed it.
    expect(task.enqueuedAt).toBeInstanceOf(Date);
    expect(task.enqueuedAt!.getTime()).toBeLessThanOrEqual(task.startedAt!.getTime());
    expect(calls[id]).toBe(1);
    // The queue job carries only the key; the row is the truth.
    expect(jobData[id]).toEqual({ taskId: id, tenantId });
  });

  it('does not run a task before its run-at', async () => {
    const id = await insertTask('ban', { runAt: new Date(Date.now() + 60_000) });
    await new Promise((r) => setTimeout(r, 1500));
    const task = await runtime.orm.em.fork().findOneOrFail(TaskSchema, { id });
    expect(task.state).toBe('pending');
    expect(calls[id]).toBeUndefined();
  });

  it('retries a failing task with backoff and records the last error until it succeeds', async () => {
    const id = await insertTask('unban');
    const task = await waitForState(id, ['succeeded'], 30_000);
    expect(task.attempts).toBe(3);
    expect(calls[id]).toBe(3);
    expect(task.lastError).toBeNull();
  });

  it('marks a permanent failure failed at once, with its reason kept', async () => {
    const id = await insertTask('disable');
    const task = await waitForState(id, ['failed']);
    expect(task.attempts).toBe(1);
    expect(task.lastError).toBe('user is purged');
  });

  it('parks a task that needs a person in needs_decision with its reason', async () => {
    const id = await insertTask('unlock');
    const task = await waitForState(id, ['needs_decision']);
    expect(task.reason).toBe('unable_to_retrieve');
    expect(task.finishedAt).toBeNull();
  });

  it('fails a task type without a processor visibly instead of dropping it', async () => {
    const id = await insertTask('purge');
    const task = await waitForState(id, ['failed']);
    expect(task.lastError).toMatch(/no processor for task type purge/);
  });

  it('ignores a duplicate delivery of a finished task', async () => {
    const id = await insertTask('ban');
    await waitForState(id, ['succeeded']);
    // Gone already where the backend drops completed jobs; removed here where it keeps them.
    await (await runtime.queues.lifecycle.getJob(id))?.remove();
    await runtime.queues.lifecycle.add('ban', { taskId: id, tenantId }, { jobId: id });
    await new Promise((r) => setTimeout(r, 1000));
    expect(calls[id]).toBe(1);
  });
});
