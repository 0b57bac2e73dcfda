import { runLifecycleEvent } from './lifecycle-event.ts';
import type { TaskProcessor } from '../src/queue/processor.ts';

export const deleteUserProcessor: TaskProcessor<'delete'> = (context) => runLifecycleEvent(context, { type: 'delete' });
