import { describe, expect, it } from 'vitest';
import {
  INACTIVITY_SWEEP_CRON,
  insertInactivitySweepTasks,
  PROVISIONING_LOG_PRUNE_CRON,
  SCHEDULE_INACTIVITY_SWEEPS,
  SCHEDULE_PROVISIONING_LOG_PRUNE,
} from '../../src/queue/schedules.ts';
import { queueBackendsUnderTest } from '../support/database.ts';
import { useTestRuntime } from '../support/runtime.ts';

describe.each(queueBackendsUnderTest())('schedules (daily inactivity sweep, hourly provisioning log prune) on $name', ({ name, redisUrl }) => {
  const t = useTestRuntime({ label: `schedules_${name}`, redisUrl, roles: { api: false, relay: true, workers: true } });

  it('is installed once as a daily job scheduler (beside the hourly provisioning log prune), however many processes start', async () => {
    const { installSchedules } = await import('../../src/queue/schedules.ts');
    await installSchedules(t.runtime.queues);
    const schedulers = await t.runtime.queues.lifecycle.getJobSchedulers();
    expect(schedulers.sort((a, b) => a.key.localeCompare(b.key))).toEqual([
      expect.objectContaining({ key: 'inactivity-sweeps', name: SCHEDULE_INACTIVITY_SWEEPS, pattern: INACTIVITY_SWEEP_CRON }),
      expect.objectContaining({ key: 'provisioning-log-prune', name: SCHEDULE_PROVISIONING_LOG_PRUNE, pattern: PROVISIONING_LOG_PRUNE_CRON }),
    ]);
  });

  it('writes one sweep task per tenant per tick, never two live ones, and the sweep runs', async () => {
    await t.sql(`insert into tenants (id, name) values (gen_random_uuid(), 'second')`);
    const tenants = (await t.sql(`select id from tenants`)).length;
    // A tick fired by the scheduler, as a worker would receive it.
    await t.runtime.queues.lifecycle.add(SCHEDULE_INACTIVITY_SWEEPS, { taskId: '', tenantId: '' });
    let sweeps: Array<{ state: string }> = [];
    for (let i = 0; i < 200; i++) {
      sweeps = await t.sql(`select state from tasks where type = 'inactivity_sweep'`);
      if (sweeps.length === tenants && sweeps.every((s) => s.state === 'succeeded')) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(sweeps).toEqual(Array.from({ length: tenants }, () => ({ state: 'succeeded' })));

    // While a sweep is still waiting, another tick adds nothing.
    await t.sql(`update tasks set state = 'held' where type = 'inactivity_sweep'`);
    expect(await insertInactivitySweepTasks(t.runtime.orm)).toBe(0);
  });

  it('prunes the provisioning log on its tick: rows older than PROVISIONING_LOG_DAYS (30) go, newer stay', async () => {
    const insert = (daysAgo: number, requestId: string) =>
      t.sql(
        `insert into provisioning_log (tenant_id, at, method, path, status, outcome, duration_ms, request_id)
         values (?, now() - make_interval(days => ?), 'GET', '/Users', 200, 'ok', 1, ?)`,
        [t.tenantId, daysAgo, requestId],
      );
    await insert(31, 'tick-old');
    await insert(29, 'tick-kept');
    await t.runtime.queues.lifecycle.add(SCHEDULE_PROVISIONING_LOG_PRUNE, { taskId: '', tenantId: '' });
    let left: string[] = [];
    for (let i = 0; i < 200; i++) {
      left = (await t.sql<{ request_id: string }>(`select request_id from provisioning_log where request_id like 'tick-%'`)).map((r) => r.request_id);
      if (left.length === 1) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(left).toEqual(['tick-kept']);
  });
});
