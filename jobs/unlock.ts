import { runLifecycleEvent } from './lifecycle-event.ts';
import type { TaskProcessor } from './types.ts';

export const unlockProcessor: TaskProcessor<'unlock'> = (context) => runLifecycleEvent(context, { type: 'unlock' });
