import type { Job } from 'bullmq';
import type { Orm } from '../store/orm.ts';
import { insertTaskForEachTenant } from '../store/tasks.ts';
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
  return insertTaskForEachTenant(orm.em.fork(), { type: 'inactivity_sweep', actor: 'schedule', dedupeKey: 'inactivity_sweep' });
}
