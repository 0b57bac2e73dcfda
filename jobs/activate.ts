import { runLifecycleEvent } from './lifecycle-event.ts';
import type { TaskProcessor } from './types.ts';

export const activateProcessor: TaskProcessor<'activate'> = (context) => runLifecycleEvent(context, { type: 'activate' });
