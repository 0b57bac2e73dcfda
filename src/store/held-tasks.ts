import type { EntityManager } from '@mikro-orm/postgresql';
import { insertAuditEntries } from './audit.ts';
import { cancelTasks, releaseHeldTasks } from './tasks.ts';

/**
 * An admin's decision on work the mass-deprovision guard held (src/scim/idp-events.ts):
 * approve -> the task goes back to `pending` and the relay runs it; reject -> `cancelled`, the
 * user keeps access and stays marked as differing from the IdP (users.idp_active / idp_deleted_at
 * still say what the IdP asked). Only `held` tasks of the tenant move; each move is audited.
 * `taskIds` null decides every held task of the tenant.
 */
export async function decideHeldTasks(
  em: EntityManager,
  input: { tenantId: string; taskIds: string[] | null; decision: 'approve' | 'reject'; actor: string },
): Promise<{ taskIds: string[] }> {
  const selection = { tenantId: input.tenantId, ids: input.taskIds };
  const moved =
    input.decision === 'approve'
      ? await releaseHeldTasks(em, selection)
      : await cancelTasks(em, selection, { from: ['held'], result: { rejectedBy: input.actor } });
  const action = input.decision === 'approve' ? 'task.held_approved' : 'task.held_rejected';
  await insertAuditEntries(
    em,
    moved.map((m) => ({ tenantId: input.tenantId, actor: input.actor, action, userId: m.userId, taskId: m.id })),
  );
  return { taskIds: moved.map((m) => m.id) };
}
