import { runLifecycleEvent } from './lifecycle-event.ts';
import type { TaskProcessor } from '../src/queue/processor.ts';

/**
 * Clears the password, moves the user to password_required and revokes sessions, device tokens and
 * outstanding links. With sendRecoveryEmail the applier queues a welcome_email task (purpose
 * recovery) in the same transaction, so the email goes out exactly when the reset commits.
 */
export const forcePasswordResetProcessor: TaskProcessor<'force_password_reset'> = (context) =>
  runLifecycleEvent(context, { type: 'force_password_reset', sendRecoveryEmail: context.payload.sendRecoveryEmail });
