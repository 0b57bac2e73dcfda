import { runLifecycleEvent } from './lifecycle-event.ts';
import type { TaskProcessor } from '../src/queue/processor.ts';

export const disableProcessor: TaskProcessor<'disable'> = (context) => runLifecycleEvent(context, { type: 'disable' });
