import type { Worker } from 'bullmq';
import { QUEUE_NAMES, type QueueName } from '../lifecycle/tasks.ts';
import type { QueueBackend } from './backend.ts';
import { createTaskRunner, type RunTaskDependencies } from './run-task.ts';
import { isScheduleJob, runScheduleJob } from './schedules.ts';
import type { JobData } from './task-queues.ts';

/**
 * One BullMQ worker per queue, each running tasks through the task runner (group commit). `close()` stops taking jobs
 * and waits for the running ones to finish: that is the graceful part of shutdown.
 */
export function startWorkers(
  backend: QueueBackend,
  deps: RunTaskDependencies,
  {
    concurrency,
    lockMs,
    provisioningLogDays,
  }: { concurrency: Record<QueueName, number>; lockMs: number; /** Retention, for the schedule that prunes the provisioning log. */ provisioningLogDays: number },
): { close(): Promise<void> } {
  const runner = createTaskRunner(deps);
  const workers: Worker<JobData>[] = QUEUE_NAMES.map((name) => {
    const worker = backend.createWorker<JobData>(
      name,
      async (job, token) => (isScheduleJob(job) ? runScheduleJob(job, { orm: deps.orm, provisioningLogDays }) : runner.run(job, token)),
      {
      concurrency: concurrency[name],
      // A worker that dies mid-job: its lock lapses and another worker takes the job over.
      lockDuration: lockMs,
      stalledInterval: lockMs,
      maxStalledCount: 3,
      },
    );
    worker.on('error', (error) => deps.logger.warn({ err: error, queue: name }, 'worker error'));
    return worker;
  });
  return {
    async close() {
      await Promise.all(workers.map((w) => w.close()));
    },
  };
}
