import SCIMMY from 'scimmy';
import { pgArray, sqlIn } from '../store/sql.ts';
import { guard, type ScimContext } from './context.ts';
import { scimError } from './errors.ts';
import { GROUP_FILTER_TARGET, UUID, filterToSql } from './filter-sql.ts';
import { attributeSelection, listResponse, selectPage, type ListQuery } from './list.ts';
import type { ResourceHandlers, ScimResourceInstance } from './schemas.ts';

/**
 * SCIM Groups on `groups` and `group_memberships`. Members are users of the same tenant the IdP
 * can see; a membership change is a set difference written as inserts and deletes, audited with
 * the user ids added and removed.
 */
interface GroupRow {
  id: string;
  display_name: string;
  external_id: string | null;
  version: number;
  created_at: Date;
  updated_at: Date;
}

const COLUMNS = 'g.id, g.display_name, g.external_id, g.version, g.created_at, g.updated_at';
/** Members the IdP can see: not deleted, purged or deleted by the IdP (users.ts VISIBLE). */
const VISIBLE_MEMBER = `u.status not in ('deleted', 'purged') and u.idp_deleted_at is null`;

type Member = { value: string; display?: string; type: 'User' };

function toScimGroup(row: GroupRow, members: Member[] | undefined): Record<string, unknown> {
  return {
    id: row.id,
    displayName: row.display_name,
    ...(row.external_id ? { externalId: row.external_id } : {}),
    ...(members?.length ? { members } : {}),
    meta: { resourceType: 'Group', created: row.created_at, lastModified: row.updated_at, version: `W/"${row.version}"` },
  };
}

async function membersOf(ctx: ScimContext, groupIds: string[]): Promise<Map<string, Member[]>> {
  const byGroup = new Map<string, Member[]>();
  if (!groupIds.length) return byGroup;
  const rows = await sqlIn(ctx.em)<{ group_id: string; user_id: string; display: string | null }>(
    `select m.group_id, m.user_id, coalesce(u.display_name, u.user_name) as display
       from group_memberships m join users u on u.id = m.user_id
      where m.group_id = any(?::uuid[]) and ${VISIBLE_MEMBER} order by m.created_at, m.user_id`,
    [pgArray(groupIds)],
  );
  for (const r of rows) {
    byGroup.set(r.group_id, [...(byGroup.get(r.group_id) ?? []), { value: r.user_id, ...(r.display ? { display: r.display } : {}), type: 'User' }]);
  }
  return byGroup;
}

/** `excludedAttributes=members` (Entra's group lookup) or an `attributes` list without it: skip the member query. */
function wantsMembers(query: Pick<ListQuery, 'attributes' | 'excludedAttributes'>): boolean {
  const names = (list?: string) => (list ?? '').split(',').map((a) => a.trim().toLowerCase().replace(/^urn:ietf:params:scim:schemas:core:2\.0:group:/, ''));
  if (query.attributes !== undefined) return names(query.attributes).some((a) => a === 'members' || a.startsWith('members.'));
  return !names(query.excludedAttributes).includes('members');
}

async function findGroup(ctx: ScimContext, id: string | undefined, lock: boolean): Promise<GroupRow> {
  const [row] =
    id && UUID.test(id)
      ? await sqlIn(ctx.em)<GroupRow>(`select ${COLUMNS} from groups g where g.tenant_id = ? and g.id = ?${lock ? ' for update' : ''}`, [ctx.tenantId, id])
      : [];
  if (!row) throw scimError(404, undefined, `Group ${id} not found`);
  return row;
}

export async function listScimGroups(ctx: ScimContext, query: ListQuery) {
  const selection = attributeSelection(SCIMMY.Resources.Group, query);
  const where = query.filter === undefined ? { sql: 'true', params: [] } : filterToSql(query.filter, GROUP_FILTER_TARGET);
  const from = { sql: `from groups g where g.tenant_id = ? and ${where.sql}`, params: [ctx.tenantId, ...where.params] };
  const { rows, total } = await selectPage<GroupRow>(ctx, COLUMNS, from, 'g.id', query);
  const members = wantsMembers(query) ? await membersOf(ctx, rows.map((r) => r.id)) : new Map<string, Member[]>();
  const basepath = SCIMMY.Resources.Group.basepath() as string;
  const resources = rows.map((r) => new SCIMMY.Schemas.Group(toScimGroup(r, members.get(r.id)), 'out', basepath, selection));
  return listResponse(resources, total, query.startIndex);
}

/** Replaces the member set with `wanted`; unknown or hidden user ids are a 400. */
async function replaceMembers(ctx: ScimContext, groupId: string, wanted: string[]): Promise<{ added: string[]; removed: string[] }> {
  const sql = sqlIn(ctx.em);
  const ids = [...new Set(wanted.map((v) => v.toLowerCase()))];
  const invalid = ids.filter((v) => !UUID.test(v));
  if (invalid.length) throw scimError(400, 'invalidValue', `members: '${invalid[0]}' is not the id of a user.`);
  if (ids.length) {
    const known = await sql<{ id: string }>(`select u.id from users u where u.tenant_id = ? and u.id = any(?::uuid[]) and ${VISIBLE_MEMBER}`, [ctx.tenantId, pgArray(ids)]);
    const missing = ids.filter((id) => !known.some((k) => k.id === id));
    if (missing.length) throw scimError(400, 'invalidValue', `members: no user ${missing[0]} in this tenant.`);
  }
  const removed = await sql<{ user_id: string }>(
    `delete from group_memberships where group_id = ? and not (user_id = any(?::uuid[])) returning user_id`,
    [groupId, pgArray(ids)],
  );
  const added = ids.length
    ? await sql<{ user_id: string }>(
        `insert into group_memberships (group_id, user_id, created_at) select ?, unnest(?::uuid[]), now() on conflict do nothing returning user_id`,
        [groupId, pgArray(ids)],
      )
    : [];
  return { added: added.map((r) => r.user_id), removed: removed.map((r) => r.user_id) };
}

function readGroupWrite(instance: Record<string, any>): { displayName: string; externalId: string | null; members: string[] } {
  const body = JSON.parse(JSON.stringify(instance)) as Record<string, any>;
  const members = (Array.isArray(body.members) ? body.members : []) as Array<{ value?: string; type?: string }>;
  if (members.some((m) => m.type && m.type !== 'User')) throw scimError(400, 'invalidValue', 'members: only users can be members (no nested groups).');
  return { displayName: String(body.displayName), externalId: body.externalId ?? null, members: members.map((m) => String(m.value ?? '')) };
}

async function audit(ctx: ScimContext, action: string, details: Record<string, unknown>): Promise<void> {
  await sqlIn(ctx.em)(`insert into audit_entries (tenant_id, at, actor, action, details) values (?, now(), ?, ?, ?::jsonb)`, [
    ctx.tenantId,
    ctx.actor,
    action,
    JSON.stringify(details),
  ]);
}

export const groupHandlers: ResourceHandlers<ScimContext> = {
  egress: guard(
    async (resource: ScimResourceInstance, ctx: ScimContext) => {
      const row = await findGroup(ctx, resource.id, ctx.lock);
      return toScimGroup(row, (await membersOf(ctx, [row.id])).get(row.id));
    },
    (_r, ctx) => ctx,
  ),
  ingress: guard(
    async (resource: ScimResourceInstance, instance: Record<string, any>, ctx: ScimContext) => {
      const write = readGroupWrite(instance);
      const sql = sqlIn(ctx.em);
      let row: GroupRow;
      if (resource.id) {
        row = await findGroup(ctx, resource.id, true);
        if (row.display_name !== write.displayName || row.external_id !== write.externalId) {
          [row] = (await sql<GroupRow>(
            `update groups g set display_name = ?, external_id = ?, version = version + 1, updated_at = now() where id = ? returning ${COLUMNS}`,
            [write.displayName, write.externalId, row.id],
          )) as [GroupRow];
          await audit(ctx, 'group.update', { groupId: row.id, displayName: write.displayName, externalId: write.externalId });
        }
      } else {
        [row] = (await sql<GroupRow>(
          `insert into groups (id, tenant_id, display_name, external_id, version, created_at, updated_at)
           values (gen_random_uuid(), ?, ?, ?, 1, now(), now()) returning ${COLUMNS.replaceAll('g.', '')}`,
          [ctx.tenantId, write.displayName, write.externalId],
        )) as [GroupRow];
        await audit(ctx, 'group.create', { groupId: row.id, displayName: write.displayName, externalId: write.externalId });
      }
      const { added, removed } = await replaceMembers(ctx, row.id, write.members);
      if (added.length || removed.length) {
        await sql(`update groups set version = version + 1, updated_at = now() where id = ?`, [row.id]);
        await audit(ctx, 'group.members', { groupId: row.id, added, removed });
        row = await findGroup(ctx, row.id, false);
      }
      return toScimGroup(row, (await membersOf(ctx, [row.id])).get(row.id));
    },
    (_r, _i, ctx) => ctx,
  ),
  degress: guard(
    async (resource: ScimResourceInstance, ctx: ScimContext) => {
      const row = await findGroup(ctx, resource.id, true);
      await sqlIn(ctx.em)(`delete from groups where id = ?`, [row.id]);
      await audit(ctx, 'group.delete', { groupId: row.id, displayName: row.display_name });
    },
    (_r, ctx) => ctx,
  ),
};
