import { runLifecycleEvent } from './lifecycle-event.ts';
import type { TaskProcessor } from './types.ts';

export const disableProcessor: TaskProcessor<'disable'> = (context) => runLifecycleEvent(context, { type: 'disable' });
