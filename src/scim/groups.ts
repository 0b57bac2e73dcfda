import SCIMMY from 'scimmy';
import { insertAuditEntries } from '../store/audit.ts';
import {
  deleteGroupById,
  findScimGroup,
  findScimGroupMembers,
  findScimGroups,
  insertScimGroup,
  replaceGroupMembers,
  updateGroupVersionById,
  updateScimGroupById,
  type ScimGroupMember,
  type ScimGroupRecord,
} from '../store/scim-groups.ts';
import { findVisibleUserIds } from '../store/scim-users.ts';
import { isUuid } from '../store/sql.ts';
import { guard, type ScimContext } from './context.ts';
import { scimError } from './errors.ts';
import { checkIfMatch, groupEtag } from './etag.ts';
import { attributeSelection, listResponse, type ListQuery } from './list.ts';
import { findListPage } from './paging.ts';
import type { ResourceHandlers, ScimResourceInstance } from './schemas.ts';

/**
 * SCIM Groups (src/store/scim-groups.ts). Members are users of the same tenant the IdP can see; a
 * membership change is a set difference written as inserts and deletes, audited with the user ids
 * added and removed.
 */
type Member = { value: string; display?: string; type: 'User' };

function toScimGroup(row: ScimGroupRecord, members: ScimGroupMember[] | undefined): Record<string, unknown> {
  return {
    id: row.id,
    displayName: row.displayName,
    ...(row.externalId ? { externalId: row.externalId } : {}),
    ...(members?.length ? { members: members.map((m): Member => ({ value: m.userId, ...(m.display ? { display: m.display } : {}), type: 'User' })) } : {}),
    meta: { resourceType: 'Group', created: row.createdAt, lastModified: row.updatedAt, version: groupEtag(row.version) },
  };
}

/** `excludedAttributes=members` (Entra's group lookup) or an `attributes` list without it: skip the member query. */
function wantsMembers(query: Pick<ListQuery, 'attributes' | 'excludedAttributes'>): boolean {
  const names = (list?: string) => (list ?? '').split(',').map((a) => a.trim().toLowerCase().replace(/^urn:ietf:params:scim:schemas:core:2\.0:group:/, ''));
  if (query.attributes !== undefined) return names(query.attributes).some((a) => a === 'members' || a.startsWith('members.'));
  return !names(query.excludedAttributes).includes('members');
}

async function findGroup(ctx: ScimContext, id: string | undefined, lock: boolean): Promise<ScimGroupRecord> {
  const row = await findScimGroup(ctx.em, ctx.tenantId, id, { lock });
  if (!row) throw scimError(404, undefined, `Group ${id} not found`);
  // Locked for a write: its If-Match holds against the row as locked, or nothing is written.
  if (lock) checkIfMatch(ctx, `Group ${row.id}`, groupEtag(row.version));
  return row;
}

async function withMembers(ctx: ScimContext, row: ScimGroupRecord): Promise<Record<string, unknown>> {
  return toScimGroup(row, (await findScimGroupMembers(ctx.em, [row.id])).get(row.id));
}

export async function listScimGroups(ctx: ScimContext, query: ListQuery) {
  const selection = attributeSelection(SCIMMY.Resources.Group, query);
  const { rows: groups, total } = await findListPage(ctx, 'Group', query, async (page) => {
    const { groups, ...rest } = await findScimGroups(ctx.em, { tenantId: ctx.tenantId, ...page });
    return { rows: groups, ...rest };
  });
  const members = wantsMembers(query) ? await findScimGroupMembers(ctx.em, groups.map((g) => g.id)) : new Map<string, ScimGroupMember[]>();
  const basepath = SCIMMY.Resources.Group.basepath() as string;
  const resources = groups.map((g) => new SCIMMY.Schemas.Group(toScimGroup(g, members.get(g.id)), 'out', basepath, selection));
  return listResponse(resources, total, query.startIndex);
}

/** Replaces the member set with `wanted`; unknown or hidden user ids are a 400. */
async function replaceMembers(ctx: ScimContext, groupId: string, wanted: WantedMember[]): Promise<{ added: string[]; removed: string[] }> {
  const byId = new Map<string, string | null>();
  for (const m of wanted) {
    const id = m.value.toLowerCase();
    if (!byId.has(id) || byId.get(id) === null) byId.set(id, m.display);
  }
  const ids = [...byId.keys()];
  const invalid = ids.filter((v) => !isUuid(v));
  if (invalid.length) throw scimError(400, 'invalidValue', `members: '${invalid[0]}' is not the id of a user.`);
  if (ids.length) {
    const known = await findVisibleUserIds(ctx.em, ctx.tenantId, ids);
    const missing = ids.filter((id) => !known.has(id));
    if (missing.length) throw scimError(400, 'invalidValue', `members: no user ${missing[0]} in this tenant.`);
  }
  return replaceGroupMembers(ctx.em, groupId, [...byId].map(([userId, display]) => ({ userId, display })));
}

/** A member as written: the user id and the display the IdP gave it (kept for a new member). */
type WantedMember = { value: string; display: string | null };

function readGroupWrite(instance: Record<string, any>): { displayName: string; externalId: string | null; members: WantedMember[] } {
  const body = JSON.parse(JSON.stringify(instance)) as Record<string, any>;
  const members = (Array.isArray(body.members) ? body.members : []) as Array<{ value?: string; display?: string; type?: string }>;
  if (members.some((m) => m.type && m.type !== 'User')) throw scimError(400, 'invalidValue', 'members: only users can be members (no nested groups).');
  return {
    displayName: String(body.displayName),
    externalId: body.externalId ?? null,
    members: members.map((m) => ({ value: String(m.value ?? ''), display: typeof m.display === 'string' && m.display.trim() ? m.display.trim() : null })),
  };
}

function audit(ctx: ScimContext, action: string, details: Record<string, unknown>): Promise<void> {
  return insertAuditEntries(ctx.em, [{ tenantId: ctx.tenantId, actor: ctx.actor, action, details }]);
}

export const groupHandlers: ResourceHandlers<ScimContext> = {
  egress: guard(
    async (resource: ScimResourceInstance, ctx: ScimContext) => withMembers(ctx, await findGroup(ctx, resource.id, ctx.lock)),
    (_r, ctx) => ctx,
  ),
  ingress: guard(
    async (resource: ScimResourceInstance, instance: Record<string, any>, ctx: ScimContext) => {
      const write = readGroupWrite(instance);
      let row: ScimGroupRecord;
      if (resource.id) {
        row = await findGroup(ctx, resource.id, true);
        if (row.displayName !== write.displayName || row.externalId !== write.externalId) {
          row = await updateScimGroupById(ctx.em, row.id, { displayName: write.displayName, externalId: write.externalId });
          await audit(ctx, 'group.update', { groupId: row.id, displayName: write.displayName, externalId: write.externalId });
        }
      } else {
        row = await insertScimGroup(ctx.em, { tenantId: ctx.tenantId, displayName: write.displayName, externalId: write.externalId });
        await audit(ctx, 'group.create', { groupId: row.id, displayName: write.displayName, externalId: write.externalId });
      }
      const { added, removed } = await replaceMembers(ctx, row.id, write.members);
      if (added.length || removed.length) {
        await updateGroupVersionById(ctx.em, row.id);
        await audit(ctx, 'group.members', { groupId: row.id, added, removed });
        row = await findGroup(ctx, row.id, false);
      }
      return withMembers(ctx, row);
    },
    (_r, _i, ctx) => ctx,
  ),
  degress: guard(
    async (resource: ScimResourceInstance, ctx: ScimContext) => {
      const row = await findGroup(ctx, resource.id, true);
      await deleteGroupById(ctx.em, row.id);
      await audit(ctx, 'group.delete', { groupId: row.id, displayName: row.displayName });
    },
    (_r, ctx) => ctx,
  ),
};
