import type { EntityManager } from '@mikro-orm/postgresql';
import type { User } from './entities/index.ts';
import { findScimPage, type ScimCursor, type ScimFilter, type ScimPage, type ScimSort } from './scim-filter.ts';
import { liveScimTokenSql, type LiveScimToken } from './scim-tokens.ts';
import { isUuid, pgArray, sqlIn, type SqlFragment } from './sql.ts';
import { createUsersWithLifecycle, type CreateUserInput, type RefusedCreate, type SkippedCreate } from './user-lifecycle.ts';

/**
 * The `users` table as SCIM reads it: the IdP sees a user unless it is deleted or purged, or the
 * IdP deleted it (`idp_deleted_at`). A user the IdP deleted that is not purged may be revived by
 * the IdP creating the same person again.
 */
export type ScimUserRecord = Pick<
  User,
  | 'id' | 'externalId' | 'userName' | 'firstName' | 'lastName' | 'displayName' | 'title' | 'email' | 'emails'
  | 'phone' | 'phoneNumbers' | 'extension' | 'department' | 'role' | 'status' | 'idpActive' | 'employeeNumber'
  | 'costCenter' | 'organization' | 'division' | 'managerId' | 'terminationDate' | 'scimExtra' | 'version'
  | 'createdAt' | 'updatedAt'
> & {
  /** Never null: SCIM users have a userName (only a purged row has none, and it is never read here). */
  userName: string;
  managerDisplayName: string | null;
  /** The user's groups (read-only in SCIM), fetched with the row: one round trip per page. */
  groups: Array<{ value: string; display: string }>;
};

const ROW_COLUMNS = `u.id, u.external_id as "externalId", u.user_name as "userName", u.first_name as "firstName", u.last_name as "lastName",
  u.display_name as "displayName", u.title, u.email, u.emails, u.phone, u.phone_numbers as "phoneNumbers", u.extension, u.department,
  u.role, u.status, u.idp_active as "idpActive", u.employee_number as "employeeNumber", u.cost_center as "costCenter",
  u.organization, u.division, u.manager_id as "managerId", u.termination_date as "terminationDate", u.scim_extra as "scimExtra",
  u.version, u.created_at as "createdAt", u.updated_at as "updatedAt",
  (select m.display_name from users m where m.id = u.manager_id) as "managerDisplayName"`;
const COLUMNS = `${ROW_COLUMNS},
  (select coalesce(json_agg(json_build_object('value', g.id, 'display', g.display_name) order by g.display_name), '[]')
     from group_memberships gm join groups g on g.id = gm.group_id where gm.user_id = u.id) as groups`;
/** COLUMNS of a user just inserted: no group has it yet. */
const CREATED_COLUMNS = `${ROW_COLUMNS}, '[]'::json as groups`;

/** Users the IdP can see, over `users u`. */
const VISIBLE = `u.status not in ('deleted', 'purged') and u.idp_deleted_at is null`;
/** Users the IdP deleted whom it may bring back, over `users r`. */
const REVIVABLE = `r.status <> 'purged' and (r.status = 'deleted' or r.idp_deleted_at is not null)`;

/** The one conversion of a raw row: timestamptz columns come back from raw SQL as text. */
function toScimUserRecord(row: Record<string, unknown>): ScimUserRecord {
  const record = row as unknown as ScimUserRecord;
  return {
    ...record,
    createdAt: new Date(record.createdAt),
    updatedAt: new Date(record.updatedAt),
    terminationDate: record.terminationDate === null ? null : new Date(record.terminationDate),
  };
}

/** A user the IdP can see, by id; with `lock`, locked (FOR NO KEY UPDATE) until the transaction ends. */
export async function findScimUser(em: EntityManager, tenantId: string, id: string | undefined, options: { lock?: boolean } = {}): Promise<ScimUserRecord | null> {
  if (!isUuid(id)) return null;
  const [row] = await sqlIn(em)<Record<string, unknown>>(
    `select ${COLUMNS} from users u where u.tenant_id = ? and u.id = ? and ${VISIBLE}${options.lock ? ' for no key update of u' : ''}`,
    [tenantId, id],
  );
  return row ? toScimUserRecord(row) : null;
}

/** One page of the users the IdP can see that match `filter`, in the sort's order (by id without one; findScimPage), and their total. */
export async function findScimUsers(
  em: EntityManager,
  query: ScimPage & { tenantId: string; filter?: ScimFilter; sort?: ScimSort },
): Promise<{ users: ScimUserRecord[]; total: number; last?: ScimCursor }> {
  const where = { sql: `u.tenant_id = ? and ${VISIBLE}`, params: [query.tenantId] };
  const { rows, total, last } = await findScimPage(em, 'users', { columns: COLUMNS, where, filter: query.filter, sort: query.sort, page: query });
  return { users: rows.map(toScimUserRecord), total, ...(last ? { last } : {}) };
}

/** Which of `ids` are users of the tenant the IdP can see. */
export async function findVisibleUserIds(em: EntityManager, tenantId: string, ids: readonly string[]): Promise<Set<string>> {
  if (!ids.length) return new Set();
  const rows = await sqlIn(em)<{ id: string }>(`select u.id from users u where u.tenant_id = ? and u.id = any(?::uuid[]) and ${VISIBLE}`, [
    tenantId,
    pgArray(ids),
  ]);
  return new Set(rows.map((r) => r.id));
}

/**
 * A user the IdP deleted (DELETE, or status deleted) that a create of `person` brings back, locked
 * (FOR NO KEY UPDATE): the same person when the externalId matches, or, for IdPs that send none
 * (Okta), the userName. An externalId match wins.
 */
export async function findRevivableScimUser(
  em: EntityManager,
  tenantId: string,
  person: { externalId: string | null; userName: string },
): Promise<ScimUserRecord | null> {
  const { externalId, userName } = person;
  // Two index lookups (external_id; lower(user_name)) rather than one OR the planner would scan for.
  const [row] = await sqlIn(em)<Record<string, unknown>>(
    `select ${COLUMNS} from users u
      where u.id in (select id from users where tenant_id = ? and external_id = ?
                     union all select id from users where tenant_id = ? and lower(user_name) = lower(?))
        and u.status <> 'purged' and (u.status = 'deleted' or u.idp_deleted_at is not null)
        and (u.external_id = ? or (lower(u.user_name) = lower(?) and (u.external_id is null or ?::text is null)))
      order by (u.external_id is not distinct from ?) desc limit 1
      for no key update of u`,
    [tenantId, externalId, tenantId, userName, externalId, userName, externalId, externalId],
  );
  return row ? toScimUserRecord(row) : null;
}

/** A SCIM create: a user created through the lifecycle (event `create`). */
export interface ScimUserCreate extends CreateUserInput {
  /**
   * Create only if this is a plain create, checked by the create's own statement at its snapshot:
   * there is no user the IdP deleted whom it would revive instead (findRevivableScimUser), the
   * manager, if any, is a user the IdP can see, and `liveToken`, if given, is still live. Otherwise
   * nothing is written and the outcome is `skipped`, for the caller to take the long way.
   */
  onlyIfPlain?: { liveToken?: LiveScimToken };
}

export type ScimCreateOutcome = { ok: true; user: ScimUserRecord; skipped?: undefined } | RefusedCreate | SkippedCreate;

/**
 * Creates SCIM users in ONE statement (createUsersWithLifecycle: each user's row, welcome task
 * and audit entry), returning each new user as SCIM reads it. Concurrent creates share it: one
 * round trip and one commit for all. One failure (a taken userName) fails the whole statement, and
 * nothing is written.
 */
export async function insertScimUsers(em: EntityManager, creates: readonly ScimUserCreate[]): Promise<ScimCreateOutcome[]> {
  const outcomes = await createUsersWithLifecycle(em, creates, { returning: CREATED_COLUMNS, onlyIf: plainCreateSql });
  return outcomes.map((outcome) => (outcome.ok ? { ok: true, user: toScimUserRecord(outcome.row) } : outcome));
}

/** ScimUserCreate.onlyIfPlain in SQL: findRevivableScimUser's match split in two index lookups, the manager, the token. */
function plainCreateSql(create: ScimUserCreate): SqlFragment | undefined {
  if (!create.onlyIfPlain) return undefined;
  const { tenantId, fields } = create;
  const externalId = fields.externalId ?? null;
  const managerId = fields.managerId ?? null;
  const token = create.onlyIfPlain.liveToken ? liveScimTokenSql(create.onlyIfPlain.liveToken) : null;
  return {
    sql: `not exists (select 1 from users r where r.tenant_id = ? and r.external_id = ? and ${REVIVABLE})
      and not exists (select 1 from users r where r.tenant_id = ? and lower(r.user_name) = lower(?) and ${REVIVABLE} and (r.external_id is null or ?::text is null))
      ${managerId ? `and exists (select 1 from users u where u.tenant_id = ? and u.id = ? and ${VISIBLE})` : ''}
      ${token ? `and ${token.sql}` : ''}`,
    params: [tenantId, externalId, tenantId, fields.userName, externalId, ...(managerId ? [tenantId, managerId] : []), ...(token?.params ?? [])],
  };
}
