import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll } from 'vitest';
import type { TaskPayloads } from '../../src/lifecycle/tasks.ts';
import type { TaskProcessors } from '../../src/queue/processor.ts';
import { loadConfig } from '../../src/config.ts';
import type { TaskType } from '../../src/lifecycle/tasks.ts';
import { createLogger, type Logger } from '../../src/log.ts';
import { startRuntime, type Roles, type Runtime, type RuntimeOptions } from '../../src/main.ts';
import { TaskSchema, TenantSchema, UserSchema, type Task, type User } from '../../src/store/entities/index.ts';
import { createTestDatabase } from './database.ts';

export interface TestRuntime {
  runtime: Runtime;
  tenantId: string;
  /** Inserts a user row directly (the fixture, not the API under test). */
  createUser(fields?: Partial<User>): Promise<User>;
  /** Commits a task row, as SCIM or the admin API would (the outbox). */
  createTask<T extends TaskType>(type: T, userId: string | null, payload?: TaskPayloads[T], extra?: Partial<Task>): Promise<string>;
  waitForTask(id: string, states: string[], timeoutMs?: number): Promise<Task>;
  getUser(id: string): Promise<User>;
  sql<T = Record<string, unknown>>(query: string, params?: unknown[]): Promise<T[]>;
}

/**
 * A whole turnover process (relay and workers, optionally the API) on this file's own database,
 * started before the file's tests and stopped after them.
 */
export function useTestRuntime(options: {
  label: string;
  redisUrl?: string;
  processors?: TaskProcessors;
  env?: Record<string, string>;
  roles?: Roles;
  reconciler?: RuntimeOptions['reconciler'];
  /** Where the process logs; silent (or TEST_LOG_LEVEL) on stdout by default. */
  logger?: Logger;
}): TestRuntime {
  const handle = {} as TestRuntime;
  beforeAll(async () => {
    const config = loadConfig({
      PORT: '0',
      HOST: '127.0.0.1',
      DATABASE_URL: await createTestDatabase(options.label),
      REDIS_URL: options.redisUrl,
      QUEUE_PREFIX: `{turnover-${randomBytes(3).toString('hex')}}`,
      WORKER_CONCURRENCY: '4',
      ...options.env,
    });
    const runtime = await startRuntime(
      config,
      options.roles ?? { api: true, relay: true, workers: true },
      options.logger ?? createLogger(process.env.TEST_LOG_LEVEL ?? 'silent'),
      { ...(options.processors ? { processors: options.processors } : {}), ...(options.reconciler ? { reconciler: options.reconciler } : {}) },
    );
    const tenantId = (await runtime.orm.em.fork().findOneOrFail(TenantSchema, { name: 'default' })).id;
    Object.assign(handle, {
      runtime,
      tenantId,
      async createUser(fields: Partial<User> = {}) {
        const em = runtime.orm.em.fork();
        const n = randomBytes(4).toString('hex');
        const user = em.create(UserSchema, {
          tenantId,
          userName: `user.${n}@example.org`,
          firstName: 'Test',
          lastName: `User ${n}`,
          email: `user.${n}@example.org`,
          status: 'active',
          ...fields,
        });
        await em.flush();
        return user;
      },
      async createTask(type, userId, payload, extra = {}) {
        const em = runtime.orm.em.fork();
        const task = em.create(TaskSchema, { tenantId, type, userId, payload: payload ?? {}, actor: 'test', ...extra });
        await em.flush();
        return task.id;
      },
      async waitForTask(id, states, timeoutMs = 20_000) {
        const started = Date.now();
        for (;;) {
          const task = await runtime.orm.em.fork().findOneOrFail(TaskSchema, { id });
          if (states.includes(task.state)) return task;
          if (Date.now() - started > timeoutMs) {
            throw new Error(`task ${id} (${task.type}) is ${task.state}, not ${states.join('|')}; last error: ${task.lastError}`);
          }
          await new Promise((r) => setTimeout(r, 40));
        }
      },
      async getUser(id) {
        return runtime.orm.em.fork().findOneOrFail(UserSchema, { id }, { populate: ['passwordHash', 'pinHash'] as never });
      },
      async sql(query, params = []) {
        return runtime.orm.em.fork().getConnection().execute(query, params);
      },
    } satisfies Omit<TestRuntime, never>);
  });
  afterAll(async () => {
    await handle.runtime?.stop();
  });
  return handle;
}
