import { Redis } from 'ioredis';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { banProcessor } from '../../jobs/ban.ts';
import { pgArray } from '../../src/store/sql.ts';
import { queueBackendsUnderTest } from '../support/database.ts';
import { useTestRuntime } from '../support/runtime.ts';

/**
 * The queue is a cache of work; the task rows are the truth. Wiping the queue's storage mid-run
 * (Redis restarted without persistence, or the PostgreSQL backend's job table emptied) loses
 * nothing: the reconciler puts the lost tasks back and each runs exactly once in effect.
 */
describe.each(queueBackendsUnderTest())('queue storage wiped mid-run on $name', ({ name, redisUrl }) => {
  const prefix = `{turnover-faults-${name}}`;
  const t = useTestRuntime({
    label: `faults_${name}`,
    redisUrl,
    roles: { api: false, relay: true, workers: true },
    env: { QUEUE_PREFIX: prefix },
    processors: {
      ban: async (context) => {
        await new Promise((r) => setTimeout(r, 15)); // long enough for the wipe to land mid-run
        return banProcessor(context);
      },
    },
    reconciler: { intervalMs: 300, graceSeconds: 1 },
  });

  async function wipeQueueStorage() {
    if (name === 'redis') {
      const redis = new Redis(redisUrl!);
      const keys = await redis.keys(`${prefix}:*`);
      if (keys.length) await redis.del(...keys);
      redis.disconnect();
    } else {
      const client = new pg.Client({ connectionString: t.runtime.database.url });
      await client.connect();
      // The workers lock job rows as they go; the wipe may be picked as a deadlock victim. Retry it:
      // the point is that the storage does get wiped mid-run.
      for (let attempt = 1; ; attempt++) {
        try {
          await client.query(`delete from bullmq.job`);
          break;
        } catch (error) {
          if ((error as { code?: string }).code !== '40P01' || attempt === 5) throw error;
        }
      }
      await client.end();
    }
  }

  it('re-adds every lost task and bans each of 200 users exactly once', async () => {
    const n = 200;
    const users = await t.sql<{ id: string }>(
      `insert into users (id, tenant_id, user_name, status, status_changed_at)
       select gen_random_uuid(), ?, 'fault.' || g || '@example.org', 'active', now() from generate_series(1, ?) g returning id`,
      [t.tenantId, n],
    );
    await t.sql(
      `insert into tasks (id, tenant_id, type, user_id, actor, run_at)
       select gen_random_uuid(), ?, 'ban', id, 'test', now() from users where id = any(?::uuid[])`,
      [t.tenantId, pgArray(users.map((u) => u.id))],
    );
    // Wipe once some have run and many are still queued.
    for (let i = 0; i < 400; i++) {
      const [{ done }] = (await t.sql<{ done: string }>(`select count(*) as done from tasks where type = 'ban' and state = 'succeeded'`)) as [{ done: string }];
      if (Number(done) >= 20) break;
      await new Promise((r) => setTimeout(r, 10));
    }
    const [{ now: wipedAt }] = (await t.sql<{ now: Date }>(`select now()`)) as [{ now: Date }];
    await wipeQueueStorage();

    let states: Array<{ state: string; count: string }> = [];
    for (let i = 0; i < 600; i++) {
      states = await t.sql(`select state, count(*) as count from tasks where type = 'ban' group by state`);
      if (states.length === 1 && states[0]!.state === 'succeeded') break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(states).toEqual([{ state: 'succeeded', count: String(n) }]);
    // The wipe really lost work: the reconciler put tasks back and the relay enqueued them again.
    const [{ requeued }] = (await t.sql<{ requeued: string }>(`select count(*) as requeued from tasks where enqueued_at > ?`, [wipedAt])) as [
      { requeued: string },
    ];
    expect(Number(requeued)).toBeGreaterThan(50);
    const effects = await t.sql<{ changed: string; count: string }>(
      `select details->>'changed' as changed, count(*) as count from audit_entries where action = 'user.ban' group by 1`,
    );
    // One real change per user; a redelivered job finds its task finished and does nothing.
    expect(effects).toEqual([{ changed: 'true', count: String(n) }]);
    expect(await t.sql(`select count(*) as count from users where status = 'banned'`)).toEqual([{ count: String(n) }]);
  }, 90_000);
});
