import { useQuery } from '@tanstack/react-query';
import { api, unwrap } from './client.ts';
import type { components } from './schema';

export type ActionInfo = components['schemas']['Action'];
export type ActionName = ActionInfo['action'];

/**
 * The operator actions and their words (label, description), from the admin API's actions table
 * (GET /actions): the console names no action itself. The same for the whole session.
 */
export function useActions() {
  return useQuery({
    queryKey: ['actions'],
    queryFn: () => unwrap(api.GET('/actions')),
    staleTime: Infinity,
    select: (data) => data.actions,
  });
}

/** An action's label, once the actions are loaded. */
export function labelOf(actions: readonly ActionInfo[] | undefined, action: ActionName): string | undefined {
  return actions?.find((a) => a.action === action)?.label;
}
