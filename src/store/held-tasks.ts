import type { EntityManager } from '@mikro-orm/postgresql';
import { pgArray, sqlIn } from './sql.ts';

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
  const sql = sqlIn(em);
  const scope = input.taskIds ? `and id = any(?::uuid[])` : '';
  const params: unknown[] = [input.tenantId, ...(input.taskIds ? [pgArray(input.taskIds)] : [])];
  const moved = await sql<{ id: string; user_id: string | null }>(
    input.decision === 'approve'
      ? `update tasks set state = 'pending', run_at = now(), updated_at = now(), version = version + 1
          where tenant_id = ? and state = 'held' ${scope} returning id, user_id`
      : `update tasks set state = 'cancelled', finished_at = now(), updated_at = now(), version = version + 1,
            result = jsonb_build_object('rejectedBy', ?::text)
          where tenant_id = ? and state = 'held' ${scope} returning id, user_id`,
    input.decision === 'approve' ? params : [input.actor, ...params],
  );
  if (moved.length) {
    await sql(
      `insert into audit_entries (tenant_id, at, actor, action, user_id, task_id, details)
       select ?, now(), ?, ?, m.user_id, m.id, '{}'::jsonb from jsonb_to_recordset(?::jsonb) as m(id uuid, user_id uuid)`,
      [input.tenantId, input.actor, input.decision === 'approve' ? 'task.held_approved' : 'task.held_rejected', JSON.stringify(moved)],
    );
  }
  return { taskIds: moved.map((m) => m.id) };
}
