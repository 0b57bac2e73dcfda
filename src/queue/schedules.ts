import type { Job } from 'bullmq';
import type { Orm } from '../store/orm.ts';
import { deleteProvisioningLogBefore } from '../store/provisioning-log.ts';
import { insertTaskForEachTenant } from '../store/tasks.ts';
import type { TaskQueues } from './task-queues.ts';

/**
 * Recurring work. A BullMQ job scheduler fires once a day (at most one job per tick, however many
 * relays installed it); its job only writes one `inactivity_sweep` task row per tenant, so the
 * sweep itself goes through the outbox like any other task and the database shows it ran.
 * Another prunes the provisioning log every hour (small batches; nothing else to run).
 */
export const SCHEDULE_INACTIVITY_SWEEPS = 'schedule_inactivity_sweeps';
export const INACTIVITY_SWEEP_CRON = '17 3 * * *';
export const SCHEDULE_PROVISIONING_LOG_PRUNE = 'schedule_provisioning_log_prune';
export const PROVISIONING_LOG_PRUNE_CRON = '41 * * * *';

export async function installSchedules(queues: TaskQueues): Promise<void> {
  await queues.lifecycle.upsertJobScheduler(
    'inactivity-sweeps',
    { pattern: INACTIVITY_SWEEP_CRON, tz: 'UTC' },
    { name: SCHEDULE_INACTIVITY_SWEEPS, data: { taskId: '', tenantId: '' }, opts: { removeOnComplete: true, removeOnFail: 100 } },
  );
  await queues.lifecycle.upsertJobScheduler(
    'provisioning-log-prune',
    { pattern: PROVISIONING_LOG_PRUNE_CRON, tz: 'UTC' },
    { name: SCHEDULE_PROVISIONING_LOG_PRUNE, data: { taskId: '', tenantId: '' }, opts: { removeOnComplete: true, removeOnFail: 100 } },
  );
}

export function isScheduleJob(job: Job): boolean {
  return job.name === SCHEDULE_INACTIVITY_SWEEPS || job.name === SCHEDULE_PROVISIONING_LOG_PRUNE;
}

/** Runs a schedule's job (isScheduleJob): what it did, as the job's return value. */
export async function runScheduleJob(job: Job, deps: { orm: Orm; provisioningLogDays: number }): Promise<Record<string, number>> {
  if (job.name === SCHEDULE_PROVISIONING_LOG_PRUNE) return { pruned: await pruneProvisioningLog(deps.orm, deps.provisioningLogDays) };
  return { tasks: await insertInactivitySweepTasks(deps.orm) };
}

/** Deletes provisioning log rows older than `days` days, in batches; returns how many went. */
export async function pruneProvisioningLog(orm: Orm, days: number, now = new Date()): Promise<number> {
  return deleteProvisioningLogBefore(orm.em.fork(), new Date(now.getTime() - days * 86_400_000));
}

/**
 * One sweep task per tenant, unless one is already waiting or running (the dedupe key's partial
 * unique index): a late tick or a second scheduler never stacks sweeps.
 */
export async function insertInactivitySweepTasks(orm: Orm): Promise<number> {
  return insertTaskForEachTenant(orm.em.fork(), { type: 'inactivity_sweep', actor: 'schedule', dedupeKey: 'inactivity_sweep' });
}
