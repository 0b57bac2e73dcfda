import type { Queue } from 'bullmq';
import { QUEUE_NAMES, TASK_DEFINITIONS, type QueueName, type TaskType } from '../lifecycle/tasks.ts';
import type { QueueBackend } from './backend.ts';

/** What the queue carries: only the key. The task row holds the payload and the truth. */
export interface JobData {
  taskId: string;
  tenantId: string;
}

export type TaskQueues = Record<QueueName, Queue<JobData>>;

export function openTaskQueues(backend: QueueBackend): TaskQueues {
  return Object.fromEntries(QUEUE_NAMES.map((name) => [name, backend.createQueue<JobData>(name)])) as TaskQueues;
}

/** BullMQ options for a task's job: its id is the task id, so adding it twice is harmless. */
export function jobFor(task: { id: string; type: TaskType; tenantId: string }) {
  const definition = TASK_DEFINITIONS[task.type];
  return {
    queue: definition.queue,
    name: task.type,
    data: { taskId: task.id, tenantId: task.tenantId } satisfies JobData,
    opts: {
      jobId: task.id,
      attempts: definition.attempts,
      backoff: { type: 'exponential', delay: definition.backoffMs, jitter: 0.5 },
      // How long finished jobs stay is the backend's choice (its queues' defaultJobOptions).
    },
  };
}
