import { runLifecycleEvent } from './lifecycle-event.ts';
import type { TaskProcessor } from '../src/queue/processor.ts';

export const banProcessor: TaskProcessor<'ban'> = (context) => runLifecycleEvent(context, { type: 'ban' });
