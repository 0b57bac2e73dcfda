/**
 * Task types and task states, declared once. A task's type names the processor in jobs/ that runs
 * it; an operator action (DESIGN.md §4) maps onto exactly one task type.
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
