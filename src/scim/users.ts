import SCIMMY from 'scimmy';
import { insertAuditEntries } from '../store/audit.ts';
import type { MultiValue } from '../store/entities/user.ts';
import { hashPassword } from '../store/passwords.ts';
import {
  findRevivableScimUser,
  findScimUser,
  findScimUsers,
  findVisibleUserIds,
  insertScimUsers,
  type ScimCreateOutcome,
  type ScimUserCreate,
  type ScimUserRecord,
} from '../store/scim-users.ts';
import { isUuid } from '../store/sql.ts';
import { applyLifecycleEvent, type NewUserFields } from '../store/user-lifecycle.ts';
import { updateUserAttributesById, updateUserPasswordHash, type UserAttributes } from '../store/users.ts';
import { scimActive } from '../lifecycle/transition.ts';
import { USER_STATUSES, type UserRole } from '../lifecycle/statuses.ts';
import { guard, policyOf, type ScimContext } from './context.ts';
import { scimError } from './errors.ts';
import { checkIfMatch, userEtag } from './etag.ts';
import { applyIdpRequest, scheduleTermination } from './idp-events.ts';
import { attributeSelection, listResponse, type ListQuery } from './list.ts';
import { findListPage } from './paging.ts';
import { ENTERPRISE_USER, TURNOVER_USER, type ResourceHandlers, type ScimResourceInstance } from './schemas.ts';

/**
 * SCIM Users on the store's users (src/store/scim-users.ts): SCIMMY handlers (egress reads,
 * ingress creates or replaces, degress deletes) and the list. Columns hold what turnover filters
 * or acts on; the other core attributes (addresses, locale, ...) are kept verbatim in `scimExtra`
 * so a GET returns what the IdP sent. Users the IdP deleted (status deleted or purged, or deleted
 * by a SCIM DELETE) are 404.
 */
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
function isScimActive(row: Pick<ScimUserRecord, 'status' | 'idpActive'>): boolean {
  return scimActive(row.status) && row.idpActive;
}

function toScimUser(row: ScimUserRecord): Record<string, unknown> & { meta: { version: string } } {
  const extra = row.scimExtra ?? {};
  const extraName = (extra.name ?? {}) as Record<string, unknown>;
  const name = compact({ ...extraName, givenName: row.firstName, familyName: row.lastName });
  const enterprise = compact({
    employeeNumber: row.employeeNumber,
    costCenter: row.costCenter,
    organization: row.organization,
    division: row.division,
    department: row.department,
    manager: row.managerId ? compact({ value: row.managerId, displayName: row.managerDisplayName }) : null,
  });
  const user = {
    id: row.id,
    ...compact({ externalId: row.externalId, displayName: row.displayName, title: row.title }),
    userName: row.userName,
    ...(Object.keys(name).length ? { name } : {}),
    ...Object.fromEntries(EXTRA_KEYS.filter((k) => extra[k] !== undefined).map((k) => [k, extra[k]])),
    active: isScimActive(row),
    ...(row.emails?.length ? { emails: row.emails } : {}),
    ...(row.phoneNumbers?.length ? { phoneNumbers: row.phoneNumbers } : {}),
    ...(row.groups?.length ? { groups: row.groups.map((g) => ({ ...g, type: 'direct' })) } : {}),
    ...(Object.keys(enterprise).length ? { [ENTERPRISE_USER]: enterprise } : {}),
    [TURNOVER_USER]: compact({ extension: row.extension, role: row.role, terminationDate: isoDate(row.terminationDate), status: row.status }),
    meta: { resourceType: 'User', created: row.createdAt, lastModified: row.updatedAt },
  };
  return { ...user, meta: { ...user.meta, version: userEtag(row.version, user) } };
}

async function findVisibleUser(ctx: ScimContext, id: string | undefined, lock: boolean): Promise<ScimUserRecord> {
  const row = await findScimUser(ctx.em, ctx.tenantId, id, { lock });
  if (!row) throw scimError(404, undefined, `User ${id} not found`);
  // Locked for a write: its If-Match holds against the row as locked, or nothing is written.
  if (lock) checkIfMatch(ctx, `User ${row.id}`, toScimUser(row).meta.version);
  return row;
}

export async function readScimUser(ctx: ScimContext, id: string): Promise<Record<string, unknown>> {
  const row = await findVisibleUser(ctx, id, false);
  return toScimUser(row);
}

/** GET /Users: filter, sort, count and page in SQL (paging.ts: a walk continues where its last page ended). */
export async function listScimUsers(ctx: ScimContext, query: ListQuery) {
  const selection = attributeSelection(SCIMMY.Resources.User, query);
  const { rows: users, total } = await findListPage(ctx, 'User', query, async (page) => {
    const { users, ...rest } = await findScimUsers(ctx.em, { tenantId: ctx.tenantId, ...page });
    return { rows: users, ...rest };
  });
  const basepath = SCIMMY.Resources.User.basepath() as string;
  const resources = users.map((u) => new SCIMMY.Schemas.User(toScimUser(u), 'out', basepath, selection));
  return listResponse(resources, total, query.startIndex);
}

/** What a SCIM User body (already checked by SCIMMY) asks to store. */
interface UserWrite {
  fields: NewUserFields & UserAttributes;
  active: boolean | undefined;
  password: string | undefined;
  /** Whether the body carries the extension; a PUT without it leaves those columns alone. */
  hasEnterprise: boolean;
  hasTurnover: boolean;
}

/** RFC 7643 §2.4: several values may share a type; at most one may be primary. */
function onePrimary(attribute: string, entries: MultiValue[]): void {
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
  onePrimary('emails', emails);
  onePrimary('phoneNumbers', phoneNumbers);
  const enterprise = body[ENTERPRISE_USER] as Record<string, any> | undefined;
  const turnover = body[TURNOVER_USER] as Record<string, any> | undefined;
  const name = (body.name ?? {}) as Record<string, unknown>;
  const extra: Record<string, unknown> = {};
  for (const k of EXTRA_KEYS) if (body[k] !== undefined) extra[k] = body[k];
  const extraName = compact(Object.fromEntries(EXTRA_NAME_KEYS.map((k) => [k, name[k]])));
  if (Object.keys(extraName).length) extra.name = extraName;
  const managerId = enterprise?.manager?.value ?? null;
  if (managerId !== null && !isUuid(managerId)) throw scimError(400, 'invalidValue', `manager.value '${managerId}' is not the id of a user.`);
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
  if (!(await findVisibleUserIds(ctx.em, ctx.tenantId, [managerId])).has(managerId)) {
    throw scimError(400, 'invalidValue', `manager.value '${managerId}' is not a user of this tenant.`);
  }
}

/** The attributes a write may change, and which part of the resource each belongs to. */
const UPDATABLE: Array<{ field: keyof UserAttributes; group: 'core' | 'enterprise' | 'turnover' }> = [
  { field: 'userName', group: 'core' },
  { field: 'externalId', group: 'core' },
  { field: 'firstName', group: 'core' },
  { field: 'lastName', group: 'core' },
  { field: 'displayName', group: 'core' },
  { field: 'title', group: 'core' },
  { field: 'emails', group: 'core' },
  { field: 'email', group: 'core' },
  { field: 'phoneNumbers', group: 'core' },
  { field: 'phone', group: 'core' },
  { field: 'scimExtra', group: 'core' },
  { field: 'employeeNumber', group: 'enterprise' },
  { field: 'costCenter', group: 'enterprise' },
  { field: 'organization', group: 'enterprise' },
  { field: 'division', group: 'enterprise' },
  { field: 'department', group: 'enterprise' },
  { field: 'managerId', group: 'enterprise' },
  { field: 'extension', group: 'turnover' },
  { field: 'role', group: 'turnover' },
  { field: 'terminationDate', group: 'turnover' },
];

function isoDate(value: Date | null | undefined): string | undefined {
  return value === null || value === undefined ? undefined : new Date(value).toISOString();
}

/** JSON with sorted keys: jsonb does not keep the key order a client sent. */
function comparable(v: unknown, field?: keyof UserAttributes): string {
  if (field === 'terminationDate') return JSON.stringify(isoDate(v as Date | null) ?? null);
  if (v instanceof Date) return JSON.stringify(v.toISOString());
  if (Array.isArray(v)) return `[${v.map((e) => comparable(e)).join(',')}]`;
  if (v && typeof v === 'object') {
    return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${comparable((v as Record<string, unknown>)[k])}`).join(',')}}`;
  }
  return JSON.stringify(v ?? null);
}

/**
 * The changed single values as the audit trail shows them (title: "Engineer" → "Manager").
 * Multi-valued and complex attributes (emails, the extension bag) are named in `changed` only:
 * their values can be long, and the user's record holds them.
 */
function beforeAfter(fields: readonly string[], before: Record<string, unknown>, after: Record<string, unknown>) {
  const scalar = (v: unknown) => v === null || v === undefined || typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' || v instanceof Date;
  const shown = fields.filter((f) => scalar(before[f]) && scalar(after[f]));
  if (!shown.length) return {};
  const value = (v: unknown) => (v instanceof Date ? v.toISOString() : (v ?? null));
  return {
    before: Object.fromEntries(shown.map((f) => [f, value(before[f])])),
    after: Object.fromEntries(shown.map((f) => [f, value(after[f])])),
  };
}

/**
 * Replaces the user's attributes with `write` (PUT, and PATCH after SCIMMY applied the
 * operations), then the lifecycle parts: `active`, password, termination date. Returns the
 * changed attribute names.
 */
async function replaceUser(ctx: ScimContext, row: ScimUserRecord, write: UserWrite, replaceExtensions: boolean): Promise<string[]> {
  const changes = UPDATABLE.filter(({ field, group }) => {
    if (group === 'enterprise' && !write.hasEnterprise && !replaceExtensions) return false;
    if (group === 'turnover' && !write.hasTurnover && !replaceExtensions) return false;
    return comparable(row[field], field) !== comparable(write.fields[field], field);
  });
  if (changes.length) {
    await checkManager(ctx, changes.some((c) => c.field === 'managerId') ? write.fields.managerId : null, row.id);
    await updateUserAttributesById(ctx.em, row.id, Object.fromEntries(changes.map((c) => [c.field, write.fields[c.field] ?? null])));
    const details = { changed: changes.map((c) => c.field), ...beforeAfter(changes.map((c) => c.field), row, write.fields) };
    await insertAuditEntries(ctx.em, [{ tenantId: ctx.tenantId, actor: ctx.actor, action: 'user.scim_update', userId: row.id, details }]);
  }
  const terminationChanged = changes.some((c) => c.field === 'terminationDate');
  if (terminationChanged) await scheduleTermination(ctx, row.id, write.fields.terminationDate ?? null);
  if (write.active !== undefined && write.active !== row.idpActive) {
    await applyIdpRequest(ctx, row.id, { type: write.active ? 'reactivate' : 'deactivate' });
  }
  if (write.password !== undefined) await setPassword(ctx, row, write.password);
  return [...changes.map((c) => c.field), ...(write.password !== undefined ? ['password'] : [])];
}

/** Every status but password_required: an IdP-set password changes only the hash then. */
const HASH_ONLY_STATUSES = USER_STATUSES.filter((s) => s !== 'password_required');

/**
 * An IdP-set password (Okta password sync). A user waiting for a password is activated through
 * the lifecycle (`password_set`); for the others only the hash changes.
 */
async function setPassword(ctx: ScimContext, row: Pick<ScimUserRecord, 'id'>, password: string): Promise<void> {
  const passwordHash = await hashPassword(password);
  if (await updateUserPasswordHash(ctx.em, ctx.tenantId, row.id, passwordHash, HASH_ONLY_STATUSES)) {
    await insertAuditEntries(ctx.em, [{ tenantId: ctx.tenantId, actor: ctx.actor, action: 'user.scim_password', userId: row.id }]);
    return;
  }
  await applyLifecycleEvent(ctx.em, { tenantId: ctx.tenantId, userId: row.id, event: { type: 'password_set' }, actor: ctx.actor, passwordHash, policy: await policyOf(ctx) });
}

/** The create a SCIM body asks for, with the tenant's policy as the request knows it now. */
async function newUser(ctx: ScimContext, write: UserWrite, passwordHash: string | undefined): Promise<ScimUserCreate> {
  return {
    tenantId: ctx.tenantId,
    fields: write.fields,
    source: 'scim',
    actor: ctx.actor,
    ...(write.active === undefined ? {} : { active: write.active }),
    ...(passwordHash ? { passwordHash } : {}),
    policy: await policyOf(ctx),
  };
}

function createdUser(outcome: ScimCreateOutcome): ScimUserRecord {
  if (outcome.ok) return outcome.user;
  if (outcome.skipped) throw new Error('an unconditional create was skipped');
  throw scimError(409, 'uniqueness', outcome.refusal.message);
}

/**
 * POST /Users. The router opens no transaction for creates: the common case is ONE autocommit
 * statement (the user, its welcome_email task and its audit entry), shared with concurrent
 * creates, that writes only if this is a plain create (no user to revive, the manager visible,
 * the bearer token still live when it was not looked up for this request) and returns the row to
 * answer with. A revival, a bad manager or a termination date (a task of its own) take the
 * transactional way, which tells the cases apart.
 */
async function createUser(ctx: ScimContext, write: UserWrite): Promise<ScimUserRecord> {
  const passwordHash = write.password === undefined ? undefined : await hashPassword(write.password);
  if (!write.fields.terminationDate) {
    const plain = await ctx.insertUser({ ...(await newUser(ctx, write, passwordHash)), onlyIfPlain: ctx.liveToken ? { liveToken: ctx.liveToken } : {} });
    if (!plain.skipped) return createdUser(plain);
  }
  // A token not looked up yet (its check may be what held the insert back) is looked up first.
  await ctx.verifyAuth?.();
  return ctx.em.transactional((em) => createUserInTransaction({ ...ctx, em }, write, passwordHash));
}

async function createUserInTransaction(ctx: ScimContext, write: UserWrite, passwordHash: string | undefined): Promise<ScimUserRecord> {
  await checkManager(ctx, write.fields.managerId);
  const revivable = await findRevivableScimUser(ctx.em, ctx.tenantId, { externalId: write.fields.externalId ?? null, userName: write.fields.userName });
  if (revivable) {
    await applyIdpRequest(ctx, revivable.id, { type: 'revive', active: write.active !== false, ...(passwordHash ? { passwordHash } : {}) });
    const revived = await findVisibleUser(ctx, revivable.id, true);
    // Kept as a deprovisioned (disabled) row by the delete policy: the IdP wants it back active.
    if (write.active !== false && revivable.status !== 'deleted') await applyIdpRequest(ctx, revivable.id, { type: 'reactivate' });
    await replaceUser(ctx, revived, { ...write, active: undefined, password: undefined }, true);
    return findVisibleUser(ctx, revivable.id, false);
  }
  const [outcome] = await insertScimUsers(ctx.em, [await newUser(ctx, write, passwordHash)]);
  const created = createdUser(outcome!);
  if (write.fields.terminationDate) await scheduleTermination(ctx, created.id, write.fields.terminationDate);
  return created;
}

/** Rows egress read and locked in a request's transaction (PATCH), for its ingress. */
const lockedRows = new WeakMap<ScimContext, ScimUserRecord>();

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
