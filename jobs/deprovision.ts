import { insertTasks } from '../src/store/tasks.ts';
import { runLifecycleEvent } from './lifecycle-event.ts';
import type { TaskPayloads } from '../src/lifecycle/tasks.ts';
import type { TaskProcessor } from '../src/queue/processor.ts';

/**
 * Cut a leaver off at once: disable or ban per the tenant policy, revoke every session, device
 * token and set-password link, and tell devices to clear their history. With `chainReset`, a reset
 * task follows in the same transaction.
 */
export const deprovisionProcessor: TaskProcessor<'deprovision'> = async (context) => {
  const { payload, task, em } = context;
  // Released by an admin from the mass-deprovision guard: what the IdP asked for, per policy.
  if (payload.idpEvent === 'scim_deactivate' || payload.idpEvent === 'scim_delete') return runLifecycleEvent(context, { type: payload.idpEvent });
  const outcome = await runLifecycleEvent(context, { type: 'deprovision', source: payload.source === 'scim' ? 'scim' : 'admin' });
  if (payload.chainReset) {
    await insertTasks(em, { tenantId: task.tenantId, type: 'reset', actor: task.actor, operationId: task.operationId }, [
      { userId: task.userId, payload: { options: payload.resetOptions ?? {} } satisfies TaskPayloads['reset'], dedupeKey: `reset-after:${task.id}` },
    ]);
  }
  return outcome;
};
