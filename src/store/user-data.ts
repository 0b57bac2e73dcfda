import type { EntityManager } from '@mikro-orm/postgresql';
import { SHARED_CONTACT_KIND } from '../lifecycle/reset-plan.ts';
import { sqlIn } from './sql.ts';

/**
 * A user's data items (voicemail messages and greetings, answering rules, custom contacts, and
 * whatever records a device uploads) and the tenant's shared contacts: the rows a reset clears or
 * leaves alone (DESIGN.md §4).
 */
export interface UserDataItem {
  id: string;
  kind: string;
  payload: Record<string, unknown>;
  createdAt: Date;
}

const ITEM_COLUMNS = `id, kind, payload, created_at as "createdAt"`;

/** Rows per kind for each of the users (kinds with none are absent). */
export async function countUserDataByKind(em: EntityManager, tenantId: string, userIds: readonly string[]): Promise<Map<string, Record<string, number>>> {
  const rows = await sqlIn(em)<{ user_id: string; kind: string; n: string }>(
    `select user_id, kind, count(*) as n from user_data where tenant_id = ? and user_id = any(?::uuid[]) group by user_id, kind`,
    [tenantId, `{${userIds.join(',')}}`],
  );
  const out = new Map<string, Record<string, number>>();
  for (const row of rows) out.set(row.user_id, { ...out.get(row.user_id), [row.kind]: Number(row.n) });
  return out;
}

/** The newest items of one user, optionally of one kind. */
export async function findUserData(em: EntityManager, tenantId: string, userId: string, options: { kind?: string; limit: number }): Promise<UserDataItem[]> {
  return sqlIn(em)<UserDataItem>(
    `select ${ITEM_COLUMNS} from user_data where tenant_id = ? and user_id = ?${options.kind ? ' and kind = ?' : ''}
      order by created_at desc, id desc limit ?`,
    [tenantId, userId, ...(options.kind ? [options.kind] : []), options.limit],
  );
}

/** Inserts items for one user (or, with userId null, tenant-wide rows such as shared contacts). */
export async function insertUserData(
  em: EntityManager,
  tenantId: string,
  userId: string | null,
  items: ReadonlyArray<{ kind: string; payload: Record<string, unknown> }>,
): Promise<UserDataItem[]> {
  if (!items.length) return [];
  return sqlIn(em)<UserDataItem>(
    `insert into user_data (id, tenant_id, user_id, kind, payload, created_at)
     select gen_random_uuid(), ?, ?::uuid, x.kind, x.payload, clock_timestamp() from jsonb_to_recordset(?::jsonb) as x(kind text, payload jsonb)
     returning ${ITEM_COLUMNS}`,
    [tenantId, userId, JSON.stringify(items)],
  );
}

export async function findSharedContacts(em: EntityManager, tenantId: string, limit: number): Promise<UserDataItem[]> {
  return sqlIn(em)<UserDataItem>(
    `select ${ITEM_COLUMNS} from user_data where tenant_id = ? and user_id is null and kind = ? order by payload->>'name', id limit ?`,
    [tenantId, SHARED_CONTACT_KIND, limit],
  );
}
