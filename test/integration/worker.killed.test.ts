import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { freePort } from '../../src/store/database.ts';
import { createTestDatabase, queueBackendsUnderTest } from '../support/database.ts';
import { startService, waitFor200 } from '../support/process.ts';

/**
 * A worker process killed (SIGKILL, no goodbye) half-way through 500 resets: after a new worker
 * starts, every user is reset exactly once and every task succeeded. The PostgreSQL transaction
 * of an interrupted task rolls back; its job's lock lapses (JOB_LOCK_MS) and it runs again.
 */
describe.each(queueBackendsUnderTest())('worker killed mid-operation on $name', ({ name, redisUrl }) => {
  it('resets each of 500 users exactly once after the worker is killed and replaced', async () => {
    const databaseUrl = await createTestDatabase(`killed_${name}`);
    const env = {
      DATABASE_URL: databaseUrl,
      REDIS_URL: redisUrl ?? '',
      QUEUE_PREFIX: `{turnover-killed-${name}}`,
      JOB_LOCK_MS: '2000',
      WORKER_CONCURRENCY: '8',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
    };
    const apiPort = await freePort();
    const api = startService('serve', { ...env, PORT: String(apiPort) });
    const db = new pg.Client({ connectionString: databaseUrl });
    let worker = startService('worker', { ...env, PORT: String(await freePort()) });
    try {
      await db.connect();
      await waitFor200(`http://127.0.0.1:${apiPort}/readyz`, 60_000, api);
      const [{ id: tenantId }] = (await db.query(`select id from tenants where name = 'default'`)).rows as [{ id: string }];
      await db.query(
        `insert into users (id, tenant_id, user_name, first_name, last_name, extension, status, password_hash, status_changed_at)
         select gen_random_uuid(), $1, 'k' || g || '@example.org', 'K', 'User ' || g, (20000 + g)::text, 'active', 'x', now() from generate_series(1, 500) g`,
        [tenantId],
      );
      await db.query(`insert into user_data (id, tenant_id, user_id, kind, payload) select gen_random_uuid(), tenant_id, id, 'voicemail_message', '{}' from users`);
      await db.query(
        `insert into tasks (id, tenant_id, type, user_id, payload, actor, run_at)
         select gen_random_uuid(), tenant_id, 'reset', id, '{"options":{"voicemailMessages":true}}', 'test', now() from users`,
      );
      const count = async (state: string) => Number((await db.query(`select count(*) from tasks where state = $1`, [state])).rows[0].count);
      for (let i = 0; i < 600 && (await count('succeeded')) < 100; i++) await new Promise((r) => setTimeout(r, 25));
      worker.child.kill('SIGKILL');
      await worker.exited;
      const interrupted = await count('running');
      const succeededAtKill = await count('succeeded');
      expect(succeededAtKill).toBeLessThan(500);

      worker = startService('worker', { ...env, PORT: String(await freePort()) });
      for (let i = 0; i < 1200 && (await count('succeeded')) < 500; i++) await new Promise((r) => setTimeout(r, 50));

      expect(await count('succeeded')).toBe(500);
      const resets = (await db.query(`select user_id, count(*) as n from audit_entries where action = 'user.reset' group by user_id`)).rows;
      expect(resets).toHaveLength(500);
      expect(resets.every((r) => r.n === '1')).toBe(true);
      const users = (await db.query(`select status, count(*) from users group by status`)).rows;
      expect(users).toEqual([{ status: 'setup_required', count: '500' }]);
      expect((await db.query(`select count(*) from user_data where kind = 'voicemail_message'`)).rows[0].count).toBe('0');
      // Tasks cut off mid-run were retried: their attempts show it.
      if (interrupted > 0) {
        expect(Number((await db.query(`select count(*) from tasks where attempts > 1`)).rows[0].count)).toBeGreaterThan(0);
      }
    } finally {
      worker.child.kill('SIGTERM');
      api.child.kill('SIGTERM');
      await Promise.all([worker.exited, api.exited]);
      await db.end();
    }
  }, 120_000);
});

