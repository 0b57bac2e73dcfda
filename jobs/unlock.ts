import { runLifecycleEvent } from './lifecycle-event.ts';
import type { TaskProcessor } from '../src/queue/processor.ts';

export const unlockProcessor: TaskProcessor<'unlock'> = (context) => runLifecycleEvent(context, { type: 'unlock' });
