import type { EntityManager } from '@mikro-orm/postgresql';
import type { Group } from './entities/index.ts';
import { findScimPage, type ScimCursor, type ScimFilter, type ScimPage, type ScimSort } from './scim-filter.ts';
import { isUuid, pgArray, sqlIn } from './sql.ts';

/**
 * SCIM Groups on `groups` and `group_memberships`. Members are users of the group's tenant the
 * IdP can see (src/store/scim-users.ts); the others stay members but are not shown.
 */
export type ScimGroupRecord = Pick<Group, 'id' | 'displayName' | 'externalId' | 'version' | 'createdAt' | 'updatedAt'>;

/** A member as a group lists it: the user id, and the display the IdP gave it, else the user's display or user name. */
export interface ScimGroupMember {
  userId: string;
  display: string | null;
}

const COLUMNS = 'g.id, g.display_name as "displayName", g.external_id as "externalId", g.version, g.created_at as "createdAt", g.updated_at as "updatedAt"';
/** COLUMNS over the row an insert or update returns. */
const RETURNED = COLUMNS.replaceAll('g.', '');
/** Members the IdP can see: not deleted, purged or deleted by the IdP. */
const VISIBLE_MEMBER = `u.status not in ('deleted', 'purged') and u.idp_deleted_at is null`;

/** The one conversion of a raw row: timestamptz columns come back from raw SQL as text. */
function toScimGroupRecord(row: Record<string, unknown>): ScimGroupRecord {
  const record = row as unknown as ScimGroupRecord;
  return { ...record, createdAt: new Date(record.createdAt), updatedAt: new Date(record.updatedAt) };
}

/** A group of the tenant by id; with `lock`, locked (FOR UPDATE) until the transaction ends. */
export async function findScimGroup(em: EntityManager, tenantId: string, id: string | undefined, options: { lock?: boolean } = {}): Promise<ScimGroupRecord | null> {
  if (!isUuid(id)) return null;
  const [row] = await sqlIn(em)<Record<string, unknown>>(`select ${COLUMNS} from groups g where g.tenant_id = ? and g.id = ?${options.lock ? ' for update' : ''}`, [
    tenantId,
    id,
  ]);
  return row ? toScimGroupRecord(row) : null;
}

/** One page of the tenant's groups that match `filter`, in the sort's order (by id without one; findScimPage), and their total. */
export async function findScimGroups(
  em: EntityManager,
  query: ScimPage & { tenantId: string; filter?: ScimFilter; sort?: ScimSort },
): Promise<{ groups: ScimGroupRecord[]; total: number; last?: ScimCursor }> {
  const where = { sql: 'g.tenant_id = ?', params: [query.tenantId] };
  const { rows, total, last } = await findScimPage(em, 'groups', { columns: COLUMNS, where, filter: query.filter, sort: query.sort, page: query });
  return { groups: rows.map(toScimGroupRecord), total, ...(last ? { last } : {}) };
}

/** The visible members of each group, in the order they joined. */
export async function findScimGroupMembers(em: EntityManager, groupIds: readonly string[]): Promise<Map<string, ScimGroupMember[]>> {
  const byGroup = new Map<string, ScimGroupMember[]>();
  if (!groupIds.length) return byGroup;
  const rows = await sqlIn(em)<{ group_id: string; user_id: string; display: string | null }>(
    `select m.group_id, m.user_id, coalesce(m.display, u.display_name, u.user_name) as display
       from group_memberships m join users u on u.id = m.user_id
      where m.group_id = any(?::uuid[]) and ${VISIBLE_MEMBER} order by m.created_at, m.user_id`,
    [pgArray(groupIds)],
  );
  for (const r of rows) byGroup.set(r.group_id, [...(byGroup.get(r.group_id) ?? []), { userId: r.user_id, display: r.display }]);
  return byGroup;
}

export async function insertScimGroup(em: EntityManager, group: { tenantId: string; displayName: string; externalId: string | null }): Promise<ScimGroupRecord> {
  const [row] = await sqlIn(em)<Record<string, unknown>>(
    `insert into groups (id, tenant_id, display_name, external_id, version, created_at, updated_at)
     values (gen_random_uuid(), ?, ?, ?, 1, now(), now()) returning ${RETURNED}`,
    [group.tenantId, group.displayName, group.externalId],
  );
  return toScimGroupRecord(row!);
}

/** A new name and externalId (a new version). */
export async function updateScimGroupById(em: EntityManager, id: string, group: { displayName: string; externalId: string | null }): Promise<ScimGroupRecord> {
  const [row] = await sqlIn(em)<Record<string, unknown>>(
    `update groups g set display_name = ?, external_id = ?, version = version + 1, updated_at = now() where id = ? returning ${COLUMNS}`,
    [group.displayName, group.externalId, id],
  );
  return toScimGroupRecord(row!);
}

/** A new version of the group, for a change of its members. */
export async function updateGroupVersionById(em: EntityManager, id: string): Promise<void> {
  await sqlIn(em)(`update groups set version = version + 1, updated_at = now() where id = ?`, [id]);
}

/** Makes the members exactly `userIds` (UUIDs the caller checked): the ones it added and removed. */
/**
 * Makes the group's members exactly `members`; a new member keeps the display the IdP gave it (or
 * none), a member already there keeps the one it had.
 */
export async function replaceGroupMembers(
  em: EntityManager,
  groupId: string,
  members: ReadonlyArray<{ userId: string; display: string | null }>,
): Promise<{ added: string[]; removed: string[] }> {
  const sql = sqlIn(em);
  const userIds = members.map((m) => m.userId);
  const removed = await sql<{ user_id: string }>(`delete from group_memberships where group_id = ? and not (user_id = any(?::uuid[])) returning user_id`, [
    groupId,
    pgArray(userIds),
  ]);
  const added = userIds.length
    ? await sql<{ user_id: string }>(
        `insert into group_memberships (tenant_id, group_id, user_id, display, created_at)
         select g.tenant_id, g.id, m.user_id, m.display, now() from groups g, unnest(?::uuid[], ?::text[]) as m(user_id, display)
          where g.id = ? on conflict do nothing returning user_id`,
        [pgArray(userIds), pgArray(members.map((m) => m.display)), groupId],
      )
    : [];
  return { added: added.map((r) => r.user_id), removed: removed.map((r) => r.user_id) };
}

/** The group and its memberships (the foreign key cascades). */
export async function deleteGroupById(em: EntityManager, id: string): Promise<void> {
  await sqlIn(em)(`delete from groups where id = ?`, [id]);
}
