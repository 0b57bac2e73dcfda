import type { EntityManager } from '@mikro-orm/postgresql';
import type { DeviceKind } from './entities/index.ts';
import { pgArray, sqlIn } from './sql.ts';
import { LOCKED_USER_COLUMNS, type LockedUserRow } from './user-lifecycle.ts';

/** An app device as json_build_object gives it (timestamps as ISO text). */
export interface AppDeviceJson {
  id: string;
  kind: DeviceKind;
  name: string | null;
  pendingItems: number;
  lastCheckinAt: string | null;
  removedAt: string | null;
}

/**
 * A task's user, locked for the task's transaction, as a lifecycle task needs it: the row and its
 * tenant's policy (what applyLifecycleEvent reads), the database's clock and the user's app
 * devices (what the reset's pending-data check reads; check-ins are stamped with the database's
 * clock, so the online window compares like with like).
 */
export interface TaskUserRow extends LockedUserRow {
  id: string;
  now: Date | string;
  devices: AppDeviceJson[];
}

/**
 * Locks the tasks' users (FOR NO KEY UPDATE, in id order so two transactions over the same users
 * cannot deadlock) and reads them with their tenants' policies and app devices: one round trip
 * for one task or for a whole batch of them. A user is found only in the task's own tenant.
 * NO KEY UPDATE, not UPDATE: rows that merely reference the user (a password link, a task) can
 * still be inserted meanwhile.
 */
export async function lockTaskUsers(em: EntityManager, tasks: ReadonlyArray<{ userId: string; tenantId: string }>): Promise<Map<string, TaskUserRow>> {
  if (!tasks.length) return new Map();
  const rows = await sqlIn(em)<TaskUserRow>(
    `select u.id, ${LOCKED_USER_COLUMNS}, now() as now,
            coalesce((select json_agg(json_build_object('id', d.id, 'kind', d.kind, 'name', d.name, 'pendingItems', d.pending_items,
                                                        'lastCheckinAt', d.last_checkin_at, 'removedAt', d.removed_at)
                                      order by d.created_at, d.id)
                        from devices d where d.user_id = u.id and d.kind in ('mobile_app', 'desktop_app')), '[]'::json) as devices
       from users u join tenants t on t.id = u.tenant_id
      where (u.id, u.tenant_id) in (select * from unnest(?::uuid[], ?::uuid[]))
      order by u.id
        for no key update of u`,
    [pgArray(tasks.map((t) => t.userId)), pgArray(tasks.map((t) => t.tenantId))],
  );
  return new Map(rows.map((row) => [row.id, row]));
}
