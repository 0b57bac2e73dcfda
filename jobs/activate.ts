import { runLifecycleEvent } from './lifecycle-event.ts';
import type { TaskProcessor } from '../src/queue/processor.ts';

export const activateProcessor: TaskProcessor<'activate'> = (context) => runLifecycleEvent(context, { type: 'activate' });
