import { runLifecycleEvent } from './lifecycle-event.ts';
import type { TaskProcessor } from '../src/queue/processor.ts';

/** Permanent (GDPR) delete: personal data and records go, a pseudonymous tombstone stays. */
export const purgeProcessor: TaskProcessor<'purge'> = (context) => runLifecycleEvent(context, { type: 'permanent_delete' });
