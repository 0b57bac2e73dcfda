import { z } from 'zod';
import { DISABLED_BY } from './statuses.ts';
import { requestedResetOptionsSchema } from './policy.ts';

/**
 * Task types and task states, declared once, with each type's payload and retry policy (the task
 * registry). A task's type names the processor in jobs/ that runs it; an operator action
 * (actions.ts) maps onto exactly one task type.
 */
export const TASK_TYPES = [
  'deprovision',
  'ban',
  'unban',
  'disable',
  'activate',
  'unlock',
  'delete',
  'purge',
  'reset',
  'recycle',
  'welcome_email',
  'force_password_reset',
  'inactivity_sweep',
  /** Tells a tenant's admins that the mass-deprovision guard is holding IdP work. */
  'guard_alert',
] as const;
export type TaskType = (typeof TASK_TYPES)[number];

/**
 * pending -> enqueued (relay) -> running -> succeeded | failed
 * running -> waiting_for_device (app data still on a phone; retried on backoff)
 * running -> needs_decision (an operator must retry or skip)
 * pending -> held (mass-deprovision guard; an admin approves or rejects)
 * pending | enqueued | held | needs_decision -> cancelled
 */
export const TASK_STATES = [
  'pending',
  'enqueued',
  'running',
  'waiting_for_device',
  'needs_decision',
  'held',
  'succeeded',
  'failed',
  'cancelled',
] as const;
export type TaskState = (typeof TASK_STATES)[number];

/** States a task never leaves. */
export const TERMINAL_TASK_STATES: readonly TaskState[] = Object.freeze(['succeeded', 'failed', 'cancelled']);

export const OPERATION_STATES = ['running', 'completed'] as const;
export type OperationState = (typeof OPERATION_STATES)[number];

/** A new person for a seat: a recycle's, or a reset's hand-over. */
const newPerson = {
  firstName: z.string(),
  lastName: z.string(),
  email: z.string().nullish(),
};
const noPayload = z.object({});

/**
 * The one map from task type to its payload. Every place that creates a task is type-checked
 * against TaskPayloads, and the runner checks each payload it reads from a task row against the
 * schema before a processor sees it (a malformed one fails the task at once: retries cannot mend it).
 */
export const TASK_PAYLOADS = {
  deprovision: z.object({
    chainReset: z.boolean().optional(),
    resetOptions: requestedResetOptionsSchema.optional(),
    source: z.enum(['scim', 'schedule', 'operator']).optional(),
    /** An IdP deactivation or deletion held by the mass-deprovision guard: apply that event (per policy). */
    idpEvent: z.enum(['scim_deactivate', 'scim_delete']).optional(),
  }),
  ban: noPayload,
  unban: noPayload,
  disable: z.object({ by: z.enum(DISABLED_BY).optional() }),
  activate: z.object({ by: z.enum(DISABLED_BY).optional() }),
  unlock: noPayload,
  delete: noPayload,
  purge: noPayload,
  reset: z.object({
    options: requestedResetOptionsSchema.default({}),
    skipPendingData: z.boolean().optional(),
    /**
     * Hand the reset seat to this person in the same transaction ("Reset App Access"): the
     * details an operator typed before the reset are not lost to it, even when the reset waits on
     * a device long after the operator has left the page.
     */
    handOverTo: z.object(newPerson).optional(),
  }),
  recycle: z.object({ ...newPerson, sendWelcome: z.boolean().optional() }),
  /** `recovery`: the same set-password link, for a forced password reset. */
  welcome_email: z.object({ purpose: z.enum(['welcome', 'recovery']).optional() }),
  force_password_reset: z.object({ sendRecoveryEmail: z.boolean().optional() }),
  inactivity_sweep: noPayload,
  guard_alert: noPayload,
} as const satisfies { [T in TaskType]: z.ZodType };
export type TaskPayloads = { [T in TaskType]: z.output<(typeof TASK_PAYLOADS)[T]> };

const payloadSchemas: { readonly [T in TaskType]: z.ZodType<TaskPayloads[T]> } = TASK_PAYLOADS;

/** A task row's payload checked against its type's schema (unknown keys dropped), or what is wrong with it. */
export function readTaskPayload<T extends TaskType>(type: T, payload: unknown): { ok: true; payload: TaskPayloads[T] } | { ok: false; problem: string } {
  const parsed = payloadSchemas[type].safeParse(payload ?? {});
  if (parsed.success) return { ok: true, payload: parsed.data };
  return { ok: false, problem: parsed.error.issues.map((issue) => `${issue.path.join('.') || 'payload'}: ${issue.message}`).join('; ') };
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
