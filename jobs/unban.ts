import { runLifecycleEvent } from './lifecycle-event.ts';
import type { TaskProcessor } from '../src/queue/processor.ts';

export const unbanProcessor: TaskProcessor<'unban'> = (context) => runLifecycleEvent(context, { type: 'unban' });
