import { UnrecoverableError } from 'bullmq';
import { runLifecycleEvent } from './lifecycle-event.ts';
import type { TaskProcessor } from './types.ts';

/**
 * Give a reset seat to a new person (DESIGN.md §2): new first and last name, email, status
 * `password_required`; everything the reset kept (extension, department, role, configuration)
 * stays. With `sendWelcome` a welcome_email task is queued in the same transaction. A user who
 * was not reset is refused with `not_reset`, permanently.
 */
export const recycleProcessor: TaskProcessor<'recycle'> = (context) => {
  const { firstName, lastName, email, sendWelcome } = context.payload;
  // The payload is JSON from the task row; a malformed one will not improve with retries.
  if (typeof firstName !== 'string' || typeof lastName !== 'string' || (email != null && typeof email !== 'string')) {
    throw new UnrecoverableError('invalid_payload: recycle needs firstName and lastName as strings, and email as a string if given');
  }
  return runLifecycleEvent(context, { type: 'recycle', firstName, lastName, email: email ?? null, sendWelcome: sendWelcome === true });
};
