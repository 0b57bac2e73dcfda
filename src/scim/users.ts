import SCIMMY from 'scimmy';
import type { MultiValue } from '../store/entities/user.ts';
import { hashPassword } from '../store/passwords.ts';
import { sqlIn } from '../store/sql.ts';
import { applyLifecycleEvent, createUserWithLifecycle, type NewUserFields } from '../store/user-lifecycle.ts';
import { scimActive } from '../lifecycle/transition.ts';
import type { StoredUserStatus, UserRole } from '../lifecycle/statuses.ts';
import { guard, policyOf, type ScimContext } from './context.ts';
import { scimError } from './errors.ts';
import { USER_FILTER_TARGET, UUID, filterToSql } from './filter-sql.ts';
import { applyIdpRequest, scheduleTermination } from './idp-events.ts';
import { attributeSelection, listResponse, selectPage, type ListQuery } from './list.ts';
import { ENTERPRISE_USER, TURNOVER_USER, type ResourceHandlers, type ScimResourceInstance } from './schemas.ts';

/**
 * SCIM Users on the `users` table: SCIMMY handlers (egress reads, ingress creates or replaces,
 * degress deletes) and the SQL list. Columns hold what turnover filters or acts on; the other core
 * attributes (addresses, locale, ...) are kept verbatim in `scim_extra` so a GET returns what the
 * IdP sent. Users the IdP deleted (status deleted or purged, or `idp_deleted_at` set) are 404.
 */
const ROW_COLUMNS = `u.id, u.external_id, u.user_name, u.first_name, u.last_name, u.display_name, u.title, u.email, u.emails,
  u.phone, u.phone_numbers, u.extension, u.department, u.role, u.status, u.idp_active, u.employee_number, u.cost_center,
  u.organization, u.division, u.manager_id, u.termination_date, u.scim_extra, u.version, u.created_at, u.updated_at`;
const MANAGER_NAME = `(select m.display_name from users m where m.id = u.manager_id) as manager_display_name`;
const COLUMNS = `${ROW_COLUMNS}, ${MANAGER_NAME},
  (select coalesce(json_agg(json_build_object('value', g.id, 'display', g.display_name) order by g.display_name), '[]')
     from group_memberships gm join groups g on g.id = gm.group_id where gm.user_id = u.id) as groups`;
/** COLUMNS of a user just inserted: no group has it yet, and without a manager there is no name to read. */
const createdColumns = (managerId: string | null | undefined) =>
  `${ROW_COLUMNS}, ${managerId ? MANAGER_NAME : 'null::text as manager_display_name'}, '[]'::json as groups`;
const VISIBLE = `u.status not in ('deleted', 'purged') and u.idp_deleted_at is null`;

interface UserRow {
  id: string;
  external_id: string | null;
  user_name: string;
  first_name: string | null;
  last_name: string | null;
  display_name: string | null;
  title: string | null;
  email: string | null;
  emails: MultiValue[];
  phone: string | null;
  phone_numbers: MultiValue[];
  extension: string | null;
  department: string | null;
  role: UserRole;
  status: StoredUserStatus;
  idp_active: boolean;
  employee_number: string | null;
  cost_center: string | null;
  organization: string | null;
  division: string | null;
  manager_id: string | null;
  /** timestamptz columns come back from raw SQL as text or Date depending on the driver's parsers. */
  termination_date: Date | string | null;
  scim_extra: Record<string, unknown>;
  version: number;
  created_at: Date;
  updated_at: Date;
  manager_display_name: string | null;
  /** The user's groups (read-only in SCIM), fetched with the row: one round trip per page. */
  groups: Array<{ value: string; display: string }>;
}

/** Core attributes without a column of their own, stored as sent. */
const EXTRA_KEYS = ['nickName', 'profileUrl', 'userType', 'preferredLanguage', 'locale', 'timezone', 'addresses', 'ims', 'photos', 'entitlements', 'roles', 'x509Certificates'] as const;
const EXTRA_NAME_KEYS = ['formatted', 'middleName', 'honorificPrefix', 'honorificSuffix'] as const;

const compact = <T extends Record<string, unknown>>(o: T): Partial<T> =>
  Object.fromEntries(Object.entries(o).filter(([, v]) => v !== null && v !== undefined && v !== '')) as Partial<T>;

/**
 * The IdP's view of `active`: false for the statuses that block sign-in (DESIGN.md §2) and also
 * while the IdP's own `active: false` has not (yet) changed the status, e.g. when an admin rejected
 * a held deprovision; otherwise the IdP would send the deactivation again at every sync.
 */
function isScimActive(row: Pick<UserRow, 'status' | 'idp_active'>): boolean {
  return scimActive(row.status) && row.idp_active;
}

function toScimUser(row: UserRow): Record<string, unknown> {
  const extra = row.scim_extra ?? {};
  const extraName = (extra.name ?? {}) as Record<string, unknown>;
  const name = compact({ ...extraName, givenName: row.first_name, familyName: row.last_name });
  const enterprise = compact({
    employeeNumber: row.employee_number,
    costCenter: row.cost_center,
    organization: row.organization,
    division: row.division,
    department: row.department,
    manager: row.manager_id ? compact({ value: row.manager_id, displayName: row.manager_display_name }) : null,
  });
  return {
    id: row.id,
    ...compact({ externalId: row.external_id, displayName: row.display_name, title: row.title }),
    userName: row.user_name,
    ...(Object.keys(name).length ? { name } : {}),
    ...Object.fromEntries(EXTRA_KEYS.filter((k) => extra[k] !== undefined).map((k) => [k, extra[k]])),
    active: isScimActive(row),
    ...(row.emails?.length ? { emails: row.emails } : {}),
    ...(row.phone_numbers?.length ? { phoneNumbers: row.phone_numbers } : {}),
    ...(row.groups?.length ? { groups: row.groups.map((g) => ({ ...g, type: 'direct' })) } : {}),
    ...(Object.keys(enterprise).length ? { [ENTERPRISE_USER]: enterprise } : {}),
    [TURNOVER_USER]: compact({ extension: row.extension, role: row.role, terminationDate: isoDate(row.termination_date), status: row.status }),
    meta: { resourceType: 'User', created: row.created_at, lastModified: row.updated_at, version: `W/"${row.version}"` },
  };
}

async function findVisibleUser(ctx: ScimContext, id: string | undefined, lock: boolean): Promise<UserRow> {
  const [row] =
    id && UUID.test(id)
      ? await sqlIn(ctx.em)<UserRow>(
          `select ${COLUMNS} from users u where u.tenant_id = ? and u.id = ? and ${VISIBLE}${lock ? ' for no key update of u' : ''}`,
          [ctx.tenantId, id],
        )
      : [];
  if (!row) throw scimError(404, undefined, `User ${id} not found`);
  return row;
}

export async function readScimUser(ctx: ScimContext, id: string): Promise<Record<string, unknown>> {
  const row = await findVisibleUser(ctx, id, false);
  return toScimUser(row);
}

/** GET /Users: filter, count and page in SQL, in a stable order (by id). */
export async function listScimUsers(ctx: ScimContext, query: ListQuery) {
  const selection = attributeSelection(SCIMMY.Resources.User, query);
  const where = query.filter === undefined ? { sql: 'true', params: [] } : filterToSql(query.filter, USER_FILTER_TARGET);
  const from = { sql: `from users u where u.tenant_id = ? and ${VISIBLE} and ${where.sql}`, params: [ctx.tenantId, ...where.params] };
  const { rows, total } = await selectPage<UserRow>(ctx, COLUMNS, from, 'u.id', query);
  const basepath = SCIMMY.Resources.User.basepath() as string;
  const resources = rows.map((r) => new SCIMMY.Schemas.User(toScimUser(r), 'out', basepath, selection));
  return listResponse(resources, total, query.startIndex);
}

/** What a SCIM User body (already checked by SCIMMY) asks to store. */
interface UserWrite {
  fields: NewUserFields & { firstName: string | null; lastName: string | null };
  active: boolean | undefined;
  password: string | undefined;
  /** Whether the body carries the extension; a PUT without it leaves those columns alone. */
  hasEnterprise: boolean;
  hasTurnover: boolean;
}

function uniqueTypes(attribute: string, entries: MultiValue[]): void {
  const types = entries.map((e) => e.type?.toLowerCase()).filter((t): t is string => !!t);
  if (new Set(types).size !== types.length) throw scimError(400, 'invalidValue', `'${attribute}' has more than one entry of the same type.`);
  if (entries.filter((e) => e.primary).length > 1) throw scimError(400, 'invalidValue', `'${attribute}' has more than one primary entry.`);
}

function multiValues(value: unknown): MultiValue[] {
  return Array.isArray(value) ? (JSON.parse(JSON.stringify(value)) as MultiValue[]) : [];
}

/** The primary entry, else the first `work` one, else the first. */
function preferred(entries: MultiValue[]): string | null {
  return (entries.find((e) => e.primary) ?? entries.find((e) => e.type?.toLowerCase() === 'work') ?? entries[0])?.value ?? null;
}

const MAX_USER_NAME = 320;

function readUserWrite(instance: Record<string, any>): UserWrite {
  // `password` is returned: never, so the JSON form below leaves it out; read it first.
  const password = typeof instance.password === 'string' && instance.password.length ? (instance.password as string) : undefined;
  const body = JSON.parse(JSON.stringify(instance)) as Record<string, any>;
  // A login: not blank, and no longer than the admin API allows (an e-mail address is at most 254).
  if (typeof body.userName !== 'string' || !body.userName.trim()) throw scimError(400, 'invalidValue', "'userName' must not be blank.");
  if (body.userName.length > MAX_USER_NAME) throw scimError(400, 'invalidValue', `'userName' is longer than ${MAX_USER_NAME} characters.`);
  const emails = multiValues(body.emails);
  const phoneNumbers = multiValues(body.phoneNumbers);
  uniqueTypes('emails', emails);
  uniqueTypes('phoneNumbers', phoneNumbers);
  const enterprise = body[ENTERPRISE_USER] as Record<string, any> | undefined;
  const turnover = body[TURNOVER_USER] as Record<string, any> | undefined;
  const name = (body.name ?? {}) as Record<string, unknown>;
  const extra: Record<string, unknown> = {};
  for (const k of EXTRA_KEYS) if (body[k] !== undefined) extra[k] = body[k];
  const extraName = compact(Object.fromEntries(EXTRA_NAME_KEYS.map((k) => [k, name[k]])));
  if (Object.keys(extraName).length) extra.name = extraName;
  const managerId = enterprise?.manager?.value ?? null;
  if (managerId !== null && !UUID.test(managerId)) throw scimError(400, 'invalidValue', `manager.value '${managerId}' is not the id of a user.`);
  let terminationDate: Date | null = null;
  if (turnover?.terminationDate) terminationDate = new Date(turnover.terminationDate);
  return {
    fields: {
      userName: body.userName,
      externalId: body.externalId ?? null,
      firstName: (name.givenName as string) ?? null,
      lastName: (name.familyName as string) ?? null,
      displayName: body.displayName ?? null,
      title: body.title ?? null,
      emails,
      email: preferred(emails),
      phoneNumbers,
      phone: preferred(phoneNumbers),
      scimExtra: extra,
      employeeNumber: enterprise?.employeeNumber ?? null,
      costCenter: enterprise?.costCenter ?? null,
      organization: enterprise?.organization ?? null,
      division: enterprise?.division ?? null,
      department: enterprise?.department ?? null,
      managerId: managerId?.toLowerCase() ?? null,
      extension: turnover?.extension ?? null,
      role: (turnover?.role as UserRole | undefined) ?? 'basic_user',
      terminationDate,
    },
    active: typeof body.active === 'boolean' ? body.active : undefined,
    password,
    hasEnterprise: enterprise !== undefined,
    hasTurnover: turnover !== undefined,
  };
}

async function checkManager(ctx: ScimContext, managerId: string | null | undefined, userId?: string): Promise<void> {
  if (!managerId) return;
  if (managerId === userId) throw scimError(400, 'invalidValue', 'A user cannot be their own manager.');
  const found = await sqlIn(ctx.em)(`select 1 from users u where u.tenant_id = ? and u.id = ? and ${VISIBLE}`, [ctx.tenantId, managerId]);
  if (!found.length) throw scimError(400, 'invalidValue', `manager.value '${managerId}' is not a user of this tenant.`);
}

/** Column name, the value to write, and how it reads back from a row (for change detection). */
const UPDATABLE: Array<{ column: string; field: keyof UserWrite['fields']; group: 'core' | 'enterprise' | 'turnover'; json?: boolean }> = [
  { column: 'user_name', field: 'userName', group: 'core' },
  { column: 'external_id', field: 'externalId', group: 'core' },
  { column: 'first_name', field: 'firstName', group: 'core' },
  { column: 'last_name', field: 'lastName', group: 'core' },
  { column: 'display_name', field: 'displayName', group: 'core' },
  { column: 'title', field: 'title', group: 'core' },
  { column: 'emails', field: 'emails', group: 'core', json: true },
  { column: 'email', field: 'email', group: 'core' },
  { column: 'phone_numbers', field: 'phoneNumbers', group: 'core', json: true },
  { column: 'phone', field: 'phone', group: 'core' },
  { column: 'scim_extra', field: 'scimExtra', group: 'core', json: true },
  { column: 'employee_number', field: 'employeeNumber', group: 'enterprise' },
  { column: 'cost_center', field: 'costCenter', group: 'enterprise' },
  { column: 'organization', field: 'organization', group: 'enterprise' },
  { column: 'division', field: 'division', group: 'enterprise' },
  { column: 'department', field: 'department', group: 'enterprise' },
  { column: 'manager_id', field: 'managerId', group: 'enterprise' },
  { column: 'extension', field: 'extension', group: 'turnover' },
  { column: 'role', field: 'role', group: 'turnover' },
  { column: 'termination_date', field: 'terminationDate', group: 'turnover' },
];

function isoDate(value: Date | string | null | undefined): string | undefined {
  return value === null || value === undefined ? undefined : new Date(value).toISOString();
}

/** JSON with sorted keys: jsonb does not keep the key order a client sent. */
function comparable(v: unknown, column?: string): string {
  if (column === 'termination_date') return JSON.stringify(isoDate(v as Date | string | null) ?? null);
  if (v instanceof Date) return JSON.stringify(v.toISOString());
  if (Array.isArray(v)) return `[${v.map((e) => comparable(e)).join(',')}]`;
  if (v && typeof v === 'object') {
    return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${comparable((v as Record<string, unknown>)[k])}`).join(',')}}`;
  }
  return JSON.stringify(v ?? null);
}

/**
 * Replaces the user's attributes with `write` (PUT, and PATCH after SCIMMY applied the
 * operations), then the lifecycle parts: `active`, password, termination date. Returns the
 * changed attribute names.
 */
async function replaceUser(ctx: ScimContext, row: UserRow, write: UserWrite, replaceExtensions: boolean): Promise<string[]> {
  const sql = sqlIn(ctx.em);
  const changes = UPDATABLE.filter(({ column, field, group }) => {
    if (group === 'enterprise' && !write.hasEnterprise && !replaceExtensions) return false;
    if (group === 'turnover' && !write.hasTurnover && !replaceExtensions) return false;
    return comparable((row as unknown as Record<string, unknown>)[column], column) !== comparable(write.fields[field], column);
  });
  if (changes.length) {
    await checkManager(ctx, changes.some((c) => c.field === 'managerId') ? write.fields.managerId : null, row.id);
    await sql(
      `update users set ${changes.map((c) => `${c.column} = ?${c.json ? '::jsonb' : ''}`).join(', ')}, version = version + 1, updated_at = now() where id = ?`,
      [...changes.map((c) => (c.json ? JSON.stringify(write.fields[c.field]) : (write.fields[c.field] ?? null))), row.id],
    );
    await sql(`insert into audit_entries (tenant_id, at, actor, action, user_id, details) values (?, now(), ?, 'user.scim_update', ?, ?::jsonb)`, [
      ctx.tenantId,
      ctx.actor,
      row.id,
      JSON.stringify({ changed: changes.map((c) => c.field) }),
    ]);
  }
  const terminationChanged = changes.some((c) => c.field === 'terminationDate');
  if (terminationChanged) await scheduleTermination(ctx, row.id, write.fields.terminationDate ?? null);
  if (write.active !== undefined && write.active !== row.idp_active) {
    await applyIdpRequest(ctx, row.id, { type: write.active ? 'reactivate' : 'deactivate' });
  }
  if (write.password !== undefined) await setPassword(ctx, row, write.password);
  return [...changes.map((c) => c.field), ...(write.password !== undefined ? ['password'] : [])];
}

/**
 * An IdP-set password (Okta password sync). A user waiting for a password is activated through
 * the lifecycle (`password_set`); for the others only the hash changes.
 */
async function setPassword(ctx: ScimContext, row: Pick<UserRow, 'id'>, password: string): Promise<void> {
  const passwordHash = await hashPassword(password);
  const [{ status } = { status: null }] = await sqlIn(ctx.em)<{ status: StoredUserStatus }>(`select status from users where id = ?`, [row.id]);
  if (status === 'password_required') {
    await applyLifecycleEvent(ctx.em, { tenantId: ctx.tenantId, userId: row.id, event: { type: 'password_set' }, actor: ctx.actor, passwordHash, policy: await policyOf(ctx) });
    return;
  }
  await sqlIn(ctx.em)(`update users set password_hash = ?, version = version + 1, updated_at = now() where id = ?`, [passwordHash, row.id]);
  await sqlIn(ctx.em)(`insert into audit_entries (tenant_id, at, actor, action, user_id, details) values (?, now(), ?, 'user.scim_password', ?, '{}')`, [
    ctx.tenantId,
    ctx.actor,
    row.id,
  ]);
}

/**
 * A user the IdP deleted (DELETE, or status deleted) that it now creates again: the same person
 * when the externalId matches, or, for IdPs that send none (Okta), the userName.
 */
async function findRevivable(ctx: ScimContext, write: UserWrite): Promise<(UserRow & { hidden_status: StoredUserStatus }) | null> {
  const externalId = write.fields.externalId ?? null;
  // Two index lookups (external_id; lower(user_name)) rather than one OR the planner would scan for.
  const [row] = await sqlIn(ctx.em)<UserRow & { hidden_status: StoredUserStatus }>(
    `select ${COLUMNS}, u.status as hidden_status from users u
      where u.id in (select id from users where tenant_id = ? and external_id = ?
                     union all select id from users where tenant_id = ? and lower(user_name) = lower(?))
        and u.status <> 'purged' and (u.status = 'deleted' or u.idp_deleted_at is not null)
        and (u.external_id = ? or (lower(u.user_name) = lower(?) and (u.external_id is null or ?::text is null)))
      order by (u.external_id is not distinct from ?) desc limit 1
      for no key update of u`,
    [ctx.tenantId, externalId, ctx.tenantId, write.fields.userName, externalId, write.fields.userName, externalId, externalId],
  );
  return row ?? null;
}

/**
 * The condition under which a create is a plain insert, in SQL for createUserWithLifecycle's
 * `onlyIf`: no revivable user (findRevivable's match, split in two index lookups) and the manager,
 * if any, is a visible user. When it fails, createUser takes the transactional path, which tells
 * the cases apart.
 */
function plainCreateCondition(ctx: ScimContext, write: UserWrite): { sql: string; params: unknown[] } {
  const hidden = `r.status <> 'purged' and (r.status = 'deleted' or r.idp_deleted_at is not null)`;
  const externalId = write.fields.externalId ?? null;
  const managerId = write.fields.managerId ?? null;
  return {
    sql: `not exists (select 1 from users r where r.tenant_id = ? and r.external_id = ? and ${hidden})
      and not exists (select 1 from users r where r.tenant_id = ? and lower(r.user_name) = lower(?) and ${hidden} and (r.external_id is null or ?::text is null))
      ${managerId ? `and exists (select 1 from users u where u.tenant_id = ? and u.id = ? and ${VISIBLE})` : ''}
      ${ctx.tokenCheck ? `and ${ctx.tokenCheck.sql}` : ''}`,
    params: [
      ...[ctx.tenantId, externalId, ctx.tenantId, write.fields.userName, externalId],
      ...(managerId ? [ctx.tenantId, managerId] : []),
      ...(ctx.tokenCheck?.params ?? []),
    ],
  };
}

/**
 * POST /Users. Outside a transaction (the router opens none for creates) the common case is ONE
 * autocommit statement: the user, its welcome_email task and its audit entry, guarded by
 * plainCreateCondition (and the bearer token's check when it was not looked up for this request)
 * and returning the row to answer with. A revival, a bad manager or a termination date (a task
 * of its own) go the transactional way.
 */
async function createUser(ctx: ScimContext, write: UserWrite): Promise<UserRow> {
  const passwordHash = write.password === undefined ? undefined : await hashPassword(write.password);
  if (!ctx.em.isInTransaction()) {
    if (!write.fields.terminationDate) {
      const created = await insertUser(ctx, write, passwordHash, plainCreateCondition(ctx, write));
      if (created) return created;
    }
    // A token not looked up yet (its check may be what held the insert back) is looked up first.
    await ctx.verifyAuth?.();
    return ctx.em.transactional((em) => createUserInTransaction({ ...ctx, em }, write, passwordHash));
  }
  return createUserInTransaction(ctx, write, passwordHash);
}

/** `null` when `onlyIf` held the insert back. */
async function insertUser(
  ctx: ScimContext,
  write: UserWrite,
  passwordHash: string | undefined,
  onlyIf?: { sql: string; params: unknown[] },
): Promise<UserRow | null> {
  const input = {
    tenantId: ctx.tenantId,
    fields: write.fields,
    source: 'scim' as const,
    actor: ctx.actor,
    ...(write.active === undefined ? {} : { active: write.active }),
    ...(passwordHash ? { passwordHash } : {}),
    policy: await policyOf(ctx),
    returning: createdColumns(write.fields.managerId),
  };
  // Outside a transaction the statement may be shared with concurrent creates; inside, it is the request's.
  const created = !onlyIf
    ? await createUserWithLifecycle(ctx.em, input)
    : ctx.createShared && !ctx.em.isInTransaction()
      ? await ctx.createShared({ ...input, onlyIf })
      : await createUserWithLifecycle(ctx.em, { ...input, onlyIf });
  if (created.ok) return created.row as unknown as UserRow;
  if (created.skipped) return null;
  throw scimError(409, 'uniqueness', created.refusal.message);
}

async function createUserInTransaction(ctx: ScimContext, write: UserWrite, passwordHash: string | undefined): Promise<UserRow> {
  await checkManager(ctx, write.fields.managerId);
  const revivable = await findRevivable(ctx, write);
  if (revivable) {
    await applyIdpRequest(ctx, revivable.id, { type: 'revive', active: write.active !== false, ...(passwordHash ? { passwordHash } : {}) });
    const revived = await findVisibleUser(ctx, revivable.id, true);
    // Kept as a deprovisioned (disabled) row by the delete policy: the IdP wants it back active.
    if (write.active !== false && revivable.hidden_status !== 'deleted') await applyIdpRequest(ctx, revivable.id, { type: 'reactivate' });
    await replaceUser(ctx, revived, { ...write, active: undefined, password: undefined }, true);
    return findVisibleUser(ctx, revivable.id, false);
  }
  const created = (await insertUser(ctx, write, passwordHash))!;
  if (write.fields.terminationDate) await scheduleTermination(ctx, created.id, write.fields.terminationDate);
  return created;
}

/** Rows egress read and locked in a request's transaction (PATCH), for its ingress. */
const lockedRows = new WeakMap<ScimContext, UserRow>();

export const userHandlers: ResourceHandlers<ScimContext> = {
  egress: guard(
    async (resource: ScimResourceInstance, ctx: ScimContext) => {
      // Lists are served by listScimUsers (SQL paging); SCIMMY asks egress for one user only.
      const row = await findVisibleUser(ctx, resource.id, ctx.lock);
      // PATCH: the row stays locked until commit, so ingress can take it from here (one read less).
      if (ctx.lock) lockedRows.set(ctx, row);
      return toScimUser(row);
    },
    (_r, ctx) => ctx,
  ),
  ingress: guard(
    async (resource: ScimResourceInstance, instance: Record<string, any>, ctx: ScimContext) => {
      const write = readUserWrite(instance);
      // A create answers with the row it wrote; an update reads it back.
      if (!resource.id) return toScimUser(await createUser(ctx, write));
      const locked = lockedRows.get(ctx);
      const row = locked?.id === resource.id ? locked : await findVisibleUser(ctx, resource.id, true);
      // A PATCH hands over the whole resource: an extension it emptied is cleared.
      await replaceUser(ctx, row, write, ctx.patching === true);
      return toScimUser(await findVisibleUser(ctx, row.id, false));
    },
    (_r, _i, ctx) => ctx,
  ),
  degress: guard(
    async (resource: ScimResourceInstance, ctx: ScimContext) => {
      const row = await findVisibleUser(ctx, resource.id, true);
      await applyIdpRequest(ctx, row.id, { type: 'delete' });
    },
    (_r, ctx) => ctx,
  ),
};
