import { runLifecycleEvent } from './lifecycle-event.ts';
import type { TaskProcessor } from './types.ts';

export const banProcessor: TaskProcessor<'ban'> = (context) => runLifecycleEvent(context, { type: 'ban' });
