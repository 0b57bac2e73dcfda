import type { TaskProcessors } from './types.ts';

/** Every processor, by task type. A task whose type has none fails at once, visibly. */
export const PROCESSORS: TaskProcessors = {};
