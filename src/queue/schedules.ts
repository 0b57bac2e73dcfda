import type { Job } from 'bullmq';
import type { Orm } from '../store/orm.ts';
import type { TaskQueues } from './task-queues.ts';

/**
 * Recurring work. A BullMQ job scheduler fires once a day (at most one job per tick, however many
 * relays installed it); its job only writes one `inactivity_sweep` task row per tenant, so the
 * sweep itself goes through the outbox like any other task and the database shows it ran.
 */
export const SCHEDULE_INACTIVITY_SWEEPS = 'schedule_inactivity_sweeps';
export const INACTIVITY_SWEEP_CRON = '17 3 * * *';

export async function installSchedules(queues: TaskQueues): Promise<void> {
  await queues.lifecycle.upsertJobScheduler(
    'inactivity-sweeps',
    { pattern: INACTIVITY_SWEEP_CRON, tz: 'UTC' },
    { name: SCHEDULE_INACTIVITY_SWEEPS, data: { taskId: '', tenantId: '' }, opts: { removeOnComplete: true, removeOnFail: 100 } },
  );
}

export function isScheduleJob(job: Job): boolean {
  return job.name === SCHEDULE_INACTIVITY_SWEEPS;
}

/**
 * One sweep task per tenant, unless one is already waiting or running (the dedupe key's partial
 * unique index): a late tick or a second scheduler never stacks sweeps.
 */
export async function insertInactivitySweepTasks(orm: Orm): Promise<number> {
  const rows = await orm.em.fork().getConnection().execute<{ id: string }[]>(
    `insert into tasks (id, tenant_id, type, state, payload, actor, dedupe_key, run_at)
     select gen_random_uuid(), id, 'inactivity_sweep', 'pending', '{}', 'schedule', 'inactivity_sweep', now() from tenants
     on conflict (tenant_id, dedupe_key) where dedupe_key is not null and state not in ('succeeded', 'failed', 'cancelled')
     do nothing
     returning id`,
  );
  return rows.length;
}
