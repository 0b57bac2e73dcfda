import { UnrecoverableError } from 'bullmq';
import type { LifecycleEvent } from '../src/lifecycle/transition.ts';
import { runLifecycleEvent } from './lifecycle-event.ts';
import type { TaskProcessor } from '../src/queue/processor.ts';

/**
 * Give a reset seat to a new person (DESIGN.md §2): new first and last name, email, status
 * `password_required`; everything the reset kept (extension, department, role, configuration)
 * stays. With `sendWelcome` a welcome_email task is queued in the same transaction. A user who
 * was not reset is refused with `not_reset`, permanently.
 */
export const recycleProcessor: TaskProcessor<'recycle'> = (context) => runLifecycleEvent(context, recycleEvent(context.payload, 'recycle'));

/**
 * The recycle event for a new person from a task payload (a recycle's, or a reset's hand-over).
 * The payload is JSON from the task row; a malformed one will not improve with retries.
 */
export function recycleEvent(person: { firstName: unknown; lastName: unknown; email?: unknown; sendWelcome?: unknown }, what: string): LifecycleEvent {
  const { firstName, lastName, email } = person;
  if (typeof firstName !== 'string' || typeof lastName !== 'string' || (email != null && typeof email !== 'string')) {
    throw new UnrecoverableError(`invalid_payload: ${what} needs firstName and lastName as strings, and email as a string if given`);
  }
  return { type: 'recycle', firstName, lastName, email: email ?? null, sendWelcome: person.sendWelcome === true };
}
