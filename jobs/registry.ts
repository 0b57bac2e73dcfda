import type { ResetOptions } from '../src/lifecycle/policy.ts';
import type { TaskType } from '../src/lifecycle/tasks.ts';

/**
 * The one map from task type to its payload, its queue and its retry policy. Every place that
 * creates a Task and every processor in jobs/ is type-checked against TaskPayloads.
 */
export interface TaskPayloads {
  deprovision: {
    chainReset?: boolean;
    resetOptions?: Partial<ResetOptions>;
    source?: 'scim' | 'schedule' | 'operator';
    /** An IdP deactivation or deletion held by the mass-deprovision guard: apply that event (per policy). */
    idpEvent?: 'scim_deactivate' | 'scim_delete';
  };
  ban: Record<string, never>;
  unban: Record<string, never>;
  disable: { by?: 'idp' | 'operator' };
  activate: { by?: 'idp' | 'operator' };
  unlock: Record<string, never>;
  delete: Record<string, never>;
  purge: Record<string, never>;
  reset: {
    options: Partial<ResetOptions>;
    skipPendingData?: boolean;
    /**
     * Hand the reset seat to this person in the same transaction ("Reset App Access", seed 000):
     * the details an operator typed before the reset are not lost to it, even when the reset
     * waits on a device long after the operator has left the page.
     */
    handOverTo?: { firstName: string; lastName: string; email?: string };
  };
  recycle: { firstName: string; lastName: string; email?: string; sendWelcome?: boolean };
  /** `recovery`: the same set-password link, for a forced password reset. */
  welcome_email: { purpose?: 'welcome' | 'recovery' };
  force_password_reset: { sendRecoveryEmail?: boolean };
  inactivity_sweep: Record<string, never>;
  guard_alert: Record<string, never>;
}

/** Queues: lifecycle work, and mail apart from it so 10,000 resets never delay a welcome email. */
export const QUEUE_NAMES = ['lifecycle', 'mail'] as const;
export type QueueName = (typeof QUEUE_NAMES)[number];

export interface TaskDefinition {
  queue: QueueName;
  /** Attempts before the task is `failed` (visible to operators, re-drivable). */
  attempts: number;
  /** First retry delay; doubles each attempt, with jitter. */
  backoffMs: number;
  /**
   * Database-only work that may share a transaction with other tasks of its kind (group commit,
   * src/queue/run-task.ts). Not for tasks that talk to the outside world (mail) or sweep a tenant.
   */
  batch: boolean;
}

export const TASK_DEFINITIONS: { readonly [T in TaskType]: TaskDefinition } = {
  deprovision: { queue: 'lifecycle', attempts: 8, backoffMs: 2_000, batch: true },
  ban: { queue: 'lifecycle', attempts: 8, backoffMs: 2_000, batch: true },
  unban: { queue: 'lifecycle', attempts: 8, backoffMs: 2_000, batch: true },
  disable: { queue: 'lifecycle', attempts: 8, backoffMs: 2_000, batch: true },
  activate: { queue: 'lifecycle', attempts: 8, backoffMs: 2_000, batch: true },
  unlock: { queue: 'lifecycle', attempts: 8, backoffMs: 2_000, batch: true },
  delete: { queue: 'lifecycle', attempts: 8, backoffMs: 2_000, batch: true },
  purge: { queue: 'lifecycle', attempts: 8, backoffMs: 5_000, batch: true },
  reset: { queue: 'lifecycle', attempts: 8, backoffMs: 2_000, batch: true },
  recycle: { queue: 'lifecycle', attempts: 8, backoffMs: 2_000, batch: true },
  // Mail servers refuse for minutes at a time; spread the retries out further.
  welcome_email: { queue: 'mail', attempts: 10, backoffMs: 10_000, batch: false },
  force_password_reset: { queue: 'lifecycle', attempts: 8, backoffMs: 2_000, batch: true },
  inactivity_sweep: { queue: 'lifecycle', attempts: 3, backoffMs: 60_000, batch: false },
  guard_alert: { queue: 'mail', attempts: 10, backoffMs: 10_000, batch: false },
};

/** What the queue carries: only the key. The task row holds the payload and the truth. */
export interface JobData {
  taskId: string;
  tenantId: string;
}
