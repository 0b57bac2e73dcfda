import type { EntityManager } from '@mikro-orm/postgresql';
import { LAST_ADMIN_REFUSAL, SIGN_IN_STATUSES, takesAwayAdmin, type LastAdminRefusal } from '../lifecycle/last-admin.ts';
import { PURGED, type StoredUserStatus, type UserRole, type UserStatus } from '../lifecycle/statuses.ts';
import type { User } from './entities/index.ts';
import { pgArray, sqlIn, type SqlFragment } from './sql.ts';

/**
 * User queries for the operator's view (admin API): one tenant at a time, purged tombstones never
 * shown. Status changes do not happen here (user-lifecycle.ts is the only writer of status).
 */
export type UserRecord = Pick<
  User,
  | 'id' | 'userName' | 'externalId' | 'firstName' | 'lastName' | 'displayName' | 'email' | 'phone' | 'extension'
  | 'department' | 'role' | 'disabledBy' | 'failedLoginCount' | 'lastCheckinAt' | 'lastSigninAt' | 'statusChangedAt'
  | 'createdAt' | 'updatedAt'
> & {
  /** Never purged here. */
  status: UserStatus;
  /** Whether a password is set (the hash itself is never read here). */
  hasPassword: boolean;
};

const USER_COLUMNS = `id, user_name as "userName", external_id as "externalId", first_name as "firstName", last_name as "lastName",
  display_name as "displayName", email, phone, extension, department, role, status, disabled_by as "disabledBy",
  failed_login_count as "failedLoginCount", password_hash is not null as "hasPassword", last_checkin_at as "lastCheckinAt", last_signin_at as "lastSigninAt",
  status_changed_at as "statusChangedAt", created_at as "createdAt", updated_at as "updatedAt"`;

/**
 * Whether the login of the user row `alias` is derived (src/lifecycle/login.ts): it still equals
 * the one turnover derived, and no IdP has linked the user. A userName an operator or an IdP
 * wrote since is theirs, without any writer having to say so.
 */
export function derivedLoginSql(alias: string): string {
  return `(${alias}.derived_user_name is not null and lower(${alias}.user_name) = lower(${alias}.derived_user_name) and ${alias}.external_id is null)`;
}

/**
 * Serialises, per tenant until commit, the decisions that read the tenant's other users before
 * writing one: taking away an admin (whether one remains) and picking a free login. Taken after
 * the user's row lock, everywhere, so it never waits in the other order.
 */
export async function lockTenantUsers(em: EntityManager, tenantId: string): Promise<void> {
  await sqlIn(em)(`select pg_advisory_xact_lock(hashtext('tenant-users:' || ?::text))`, [tenantId]);
}

/**
 * Admins of the tenant who can sign in (src/lifecycle/last-admin.ts) other than `except`, counted
 * up to one: all the last-admin rule needs. A statement of its own, after lockTenantUsers, so it
 * sees what the previous holder of the lock committed.
 */
export async function countOtherAdmins(em: EntityManager, tenantId: string, except: readonly string[]): Promise<number> {
  const [row] = await sqlIn(em)<{ n: number }>(
    `select count(*)::int as n from (select 1 from users where tenant_id = ? and role = 'admin' and status = any(?::text[]) and id <> all(?::uuid[]) limit 1) s`,
    [tenantId, pgArray([...SIGN_IN_STATUSES]), pgArray([...except])],
  );
  return Number(row?.n ?? 0);
}

export async function findUserById(em: EntityManager, tenantId: string, id: string): Promise<UserRecord | null> {
  const [row] = await sqlIn(em)<UserRecord>(`select ${USER_COLUMNS} from users where id = ? and tenant_id = ? and status <> ?`, [id, tenantId, PURGED]);
  return row ? normalise(row) : null;
}

/** The ids of `ids` that are users of this tenant (not purged), and whether each login is derived. */
export async function findUsersByIds(em: EntityManager, tenantId: string, ids: readonly string[]): Promise<Array<UserRecord & { derivedLogin: boolean }>> {
  if (!ids.length) return [];
  const rows = await sqlIn(em)<UserRecord & { derivedLogin: boolean }>(
    `select ${USER_COLUMNS}, ${derivedLoginSql('users')} as "derivedLogin" from users where tenant_id = ? and status <> ? and id = any(?::uuid[])`,
    [
    tenantId,
    PURGED,
    `{${ids.join(',')}}`,
    ],
  );
  return rows.map(normalise);
}

/**
 * The searched text of a user: names (first and last adjacent, so "ada love" finds Ada Lovelace),
 * user name, email and extension. The same expression carries the trigram index
 * users_search_trgm_idx, so a search of 3 or more characters is an index lookup, not a scan.
 */
const USER_SEARCH_TEXT = `(coalesce(first_name, '') || ' ' || coalesce(last_name, '') || ' ' || coalesce(display_name, '') || ' ' || coalesce(user_name, '') || ' ' || coalesce(email, '') || ' ' || coalesce(extension, ''))`;

/** Matches a search collects from the trigram index before it prefers the ordered walk. */
const SEARCH_BUDGET = 2000;

/**
 * Which users of a tenant the operator's list shows, and what an operation on a whole selection
 * acts on (src/store/operation-targets.ts): one definition for both, so "select all N matching"
 * means exactly the rows the list pages through.
 */
export interface UserFilter {
  /** Without it, deleted users are left out: deleted means hidden from lists (DESIGN.md §2). */
  status?: UserStatus;
  /** Case-insensitive substring of first, last, display or user name, email or extension. */
  q?: string;
  /** No check-in, sign-in or status change since this time (the inactivity sweep's measure, lastActivitySql). */
  inactiveSince?: string;
  /** Members of this group of the tenant. */
  groupId?: string;
}

/**
 * The last sign of life of the `users` row `alias`: a check-in, a sign-in, or a status change (a
 * user unbanned today is not idle). The inactivity sweep and the list's `inactiveSince` both read it.
 */
export function lastActivitySql(alias: string): string {
  return `greatest(coalesce(${alias}.last_checkin_at, '-infinity'), coalesce(${alias}.last_signin_at, '-infinity'), ${alias}.status_changed_at)`;
}

/** The WHERE condition of `filter` over `from users` (not aliased), in tenant `tenantId`. */
export function userFilterSql(tenantId: string, filter: UserFilter): SqlFragment {
  const where = ['users.tenant_id = ?'];
  const params: unknown[] = [tenantId];
  if (filter.status) {
    where.push('users.status = ?');
    params.push(filter.status);
  } else {
    where.push(`users.status not in ('deleted', '${PURGED}')`);
  }
  const q = filter.q?.trim();
  if (q) {
    where.push(`${USER_SEARCH_TEXT} ilike ?`);
    params.push(`%${q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`);
  }
  if (filter.inactiveSince !== undefined) {
    where.push(`${lastActivitySql('users')} < ?::timestamptz`);
    params.push(filter.inactiveSince);
  }
  if (filter.groupId !== undefined) {
    where.push(`exists (select 1 from group_memberships m join groups g on g.id = m.group_id
                        where m.user_id = users.id and m.group_id = ?::uuid and g.tenant_id = users.tenant_id)`);
    params.push(filter.groupId);
  }
  return { sql: where.join(' and '), params };
}

export interface UserListQuery extends UserFilter {
  tenantId: string;
  /** Keyset: the last (createdAt, id) of the previous page. */
  after?: { createdAt: string; id: string };
  limit: number;
}

/** How many users `filter` matches: the N of the console's "select all N matching". */
export async function countUsers(em: EntityManager, tenantId: string, filter: UserFilter): Promise<number> {
  const where = userFilterSql(tenantId, filter);
  const [row] = await sqlIn(em)<{ n: string }>(`select count(*) as n from users where ${where.sql}`, where.params);
  return Number(row?.n ?? 0);
}

/**
 * One page in creation order. Keyset on (created_at, id) rather than OFFSET, so a page costs the
 * same at row 100,000 as at row 0 and rows inserted meanwhile do not shift pages.
 */
export async function findUsers(em: EntityManager, query: UserListQuery): Promise<{ users: UserRecord[]; hasMore: boolean }> {
  const filter = userFilterSql(query.tenantId, query);
  const where = [filter.sql];
  const params: unknown[] = [...filter.params];
  if (query.after) {
    where.push('(created_at, id) > (?::timestamptz, ?::uuid)');
    params.push(query.after.createdAt, query.after.id);
  }
  const sql = sqlIn(em);
  const page = (rows: UserRecord[]) => ({ users: rows.slice(0, query.limit).map(normalise), hasMore: rows.length > query.limit });
  if (query.q?.trim()) {
    // A selective search ("turing 77", an e-mail) is fastest from the trigram index, then sorted;
    // an unselective one ("ad") is fastest walking the creation-order index until a page is full.
    // The planner cannot tell them apart (it guesses ~1% for any ILIKE), so take the trigram path
    // with a budget: under SEARCH_BUDGET matches it holds every one and the page is exact; at the
    // budget, matches are dense and the ordered walk finds a page at once. (npm run bench:console,
    // 100,000 users: "turing 77" p99 239 ms -> 14 ms; every search p99 under 62 ms.)
    const hits = await sql<UserRecord & { hitCount: string }>(
      `with hits as materialized (select ${USER_COLUMNS} from users where ${where.join(' and ')} limit ${SEARCH_BUDGET})
       select *, (select count(*) from hits) as "hitCount" from hits order by "createdAt", id limit ?`,
      [...params, query.limit + 1],
    );
    if (!hits.length || Number(hits[0]!.hitCount) < SEARCH_BUDGET) return page(hits.map(({ hitCount: _, ...row }) => row as UserRecord));
  }
  const rows = await sql<UserRecord>(`select ${USER_COLUMNS} from users where ${where.join(' and ')} order by created_at, id limit ?`, [
    ...params,
    query.limit + 1,
  ]);
  return page(rows);
}

/** Fields an operator edits directly (not status, not secrets). */
export interface UserDetailsPatch {
  userName?: string;
  firstName?: string | null;
  lastName?: string | null;
  email?: string | null;
  phone?: string | null;
  extension?: string | null;
  department?: string | null;
  role?: UserRole;
}

const PATCH_COLUMNS: Record<keyof UserDetailsPatch, string> = {
  userName: 'user_name',
  firstName: 'first_name',
  lastName: 'last_name',
  email: 'email',
  phone: 'phone',
  extension: 'extension',
  department: 'department',
  role: 'role',
};

/**
 * Writes the given fields (display name and the SCIM email/phone lists follow the columns).
 * Returns the previous values of the changed fields, or null when there is no such user, or the
 * refusal `last_admin` for a role change that takes the tenant's last admin away (last-admin.ts;
 * nothing written). A userName written here is the operator's (no longer derived). A taken
 * userName surfaces as the unique violation users_tenant_username_key.
 */
export async function updateUserDetails(
  em: EntityManager,
  tenantId: string,
  id: string,
  patch: UserDetailsPatch,
): Promise<{ before: Partial<UserDetailsPatch>; status: StoredUserStatus; refusal?: undefined } | { refusal: LastAdminRefusal } | null> {
  const sql = sqlIn(em);
  const [current] = await sql<UserRecord>(`select ${USER_COLUMNS} from users where id = ? and tenant_id = ? and status <> ? for no key update`, [
    id,
    tenantId,
    PURGED,
  ]);
  if (!current) return null;
  const keys = (Object.keys(patch) as Array<keyof UserDetailsPatch>).filter((k) => patch[k] !== undefined && patch[k] !== current[k]);
  if (!keys.length) return { before: {}, status: current.status };
  if (keys.includes('role') && takesAwayAdmin(current, { role: patch.role!, status: current.status })) {
    await lockTenantUsers(em, tenantId);
    if (!(await countOtherAdmins(em, tenantId, [id]))) return { refusal: { ...LAST_ADMIN_REFUSAL } };
  }
  const sets = keys.map((k) => `${PATCH_COLUMNS[k]} = ?`);
  const params: unknown[] = keys.map((k) => patch[k]);
  if (keys.includes('userName')) sets.push('derived_user_name = null');
  if (keys.includes('firstName') || keys.includes('lastName')) {
    sets.push(`display_name = nullif(concat_ws(' ', ?::text, ?::text), '')`);
    params.push(patch.firstName !== undefined ? patch.firstName : current.firstName, patch.lastName !== undefined ? patch.lastName : current.lastName);
  }
  if (keys.includes('email')) {
    sets.push(`emails = case when ?::text is null then '[]'::jsonb else jsonb_build_array(jsonb_build_object('value', ?::text, 'type', 'work', 'primary', true)) end`);
    params.push(patch.email, patch.email);
  }
  if (keys.includes('phone')) {
    sets.push(`phone_numbers = case when ?::text is null then '[]'::jsonb else jsonb_build_array(jsonb_build_object('value', ?::text, 'type', 'work', 'primary', true)) end`);
    params.push(patch.phone, patch.phone);
  }
  await sql(`update users set ${sets.join(', ')}, version = version + 1, updated_at = now() where id = ?`, [...params, id]);
  return { before: Object.fromEntries(keys.map((k) => [k, current[k]])), status: current.status };
}

/**
 * Sets a new password hash without a status change (an operator issuing credentials to an active
 * user), only while the user is in one of `statuses`. False when the status moved meanwhile.
 */
export async function updateUserPasswordHash(
  em: EntityManager,
  tenantId: string,
  id: string,
  passwordHash: string,
  statuses: readonly UserStatus[],
): Promise<boolean> {
  const rows = await sqlIn(em)<{ id: string }>(
    `update users set password_hash = ?, version = version + 1, updated_at = now()
      where id = ? and tenant_id = ? and status = any(?::text[]) returning id`,
    [passwordHash, id, tenantId, `{${statuses.join(',')}}`],
  );
  return rows.length === 1;
}

/**
 * A proven password's hash upgraded to the current parameters (passwords.ts needsRehash), only over
 * the hash that was checked, so a password set meanwhile stays. Not a change of the user's: the
 * version and updated_at stay.
 */
export async function updateUserPasswordRehash(em: EntityManager, id: string, checkedHash: string | null, rehashed: string): Promise<void> {
  await sqlIn(em)(`update users set password_hash = ? where id = ? and password_hash = ?`, [rehashed, id, checkedHash]);
}

/** The attributes an identity provider writes (SCIM): never the status, the login's origin or a secret. */
export type UserAttributes = Pick<
  User,
  | 'userName' | 'externalId' | 'firstName' | 'lastName' | 'displayName' | 'title' | 'emails' | 'email' | 'phoneNumbers'
  | 'phone' | 'scimExtra' | 'employeeNumber' | 'costCenter' | 'organization' | 'division' | 'department' | 'managerId'
  | 'extension' | 'role' | 'terminationDate'
>;

const ATTRIBUTE_COLUMNS: { [K in keyof UserAttributes]-?: { column: string; json?: true } } = {
  userName: { column: 'user_name' },
  externalId: { column: 'external_id' },
  firstName: { column: 'first_name' },
  lastName: { column: 'last_name' },
  displayName: { column: 'display_name' },
  title: { column: 'title' },
  emails: { column: 'emails', json: true },
  email: { column: 'email' },
  phoneNumbers: { column: 'phone_numbers', json: true },
  phone: { column: 'phone' },
  scimExtra: { column: 'scim_extra', json: true },
  employeeNumber: { column: 'employee_number' },
  costCenter: { column: 'cost_center' },
  organization: { column: 'organization' },
  division: { column: 'division' },
  department: { column: 'department' },
  managerId: { column: 'manager_id' },
  extension: { column: 'extension' },
  role: { column: 'role' },
  terminationDate: { column: 'termination_date' },
};

/** Writes the given attributes of a user (a new version); the caller holds the row's lock and audits. */
export async function updateUserAttributesById(em: EntityManager, id: string, changes: Partial<UserAttributes>): Promise<void> {
  const keys = (Object.keys(changes) as Array<keyof UserAttributes>).filter((k) => changes[k] !== undefined);
  if (!keys.length) return;
  const sets = keys.map((k) => `${ATTRIBUTE_COLUMNS[k].column} = ?${ATTRIBUTE_COLUMNS[k].json ? '::jsonb' : ''}`);
  const params = keys.map((k) => (ATTRIBUTE_COLUMNS[k].json ? JSON.stringify(changes[k]) : changes[k]));
  await sqlIn(em)(`update users set ${sets.join(', ')}, version = version + 1, updated_at = now() where id = ?`, [...params, id]);
}

export interface SignInCandidate {
  id: string;
  tenantId: string;
  userName: string | null;
  email: string | null;
  status: StoredUserStatus;
  role: UserRole;
  passwordHash: string | null;
}

/**
 * The user a client signs in as: by user name or email, case-insensitively, in one tenant. An
 * email shared by two users of the tenant matches nobody (which one would it be?).
 */
export async function findSignInCandidate(em: EntityManager, tenantName: string, login: string): Promise<SignInCandidate | null> {
  const rows = await sqlIn(em)<SignInCandidate>(
    `select u.id, u.tenant_id as "tenantId", u.user_name as "userName", u.email, u.status, u.role, u.password_hash as "passwordHash"
       from users u join tenants t on t.id = u.tenant_id
      where t.name = ? and u.status <> ? and (lower(u.user_name) = lower(?) or lower(u.email) = lower(?))
      order by (lower(u.user_name) = lower(?)) desc
      limit 2`,
    [tenantName, PURGED, login, login, login],
  );
  const [first, second] = rows;
  if (!first) return null;
  // An exact user-name match wins; otherwise the email must be unique.
  if (second && first.userName?.toLowerCase() !== login.toLowerCase()) return null;
  return first;
}

function normalise<R extends UserRecord>(row: R): R {
  return { ...row, failedLoginCount: Number(row.failedLoginCount) };
}

/**
 * What the identity provider last asked for a user (active or not, deleted when), whatever the
 * policy made of it. A change is a new version: SCIM's `active` shows it (a held deactivation).
 */
export async function updateUserIdpStateById(em: EntityManager, id: string, state: { active: boolean; deleted: boolean }): Promise<void> {
  await sqlIn(em)(
    `update users set idp_active = ?, idp_deleted_at = case when ? then now() else null end, version = version + 1, updated_at = now()
      where id = ? and (idp_active <> ? or (idp_deleted_at is not null) <> ?)`,
    [state.active, state.deleted, id, state.active, state.deleted],
  );
}

/** A user of the tenant by user name (any case), purged ones aside: the CLI names users so. */
export async function findUserIdByUserName(em: EntityManager, tenantId: string, userName: string): Promise<string | null> {
  const [row] = await sqlIn(em)<{ id: string }>(`select id from users where tenant_id = ? and lower(user_name) = lower(?) and status <> ?`, [tenantId, userName, PURGED]);
  return row?.id ?? null;
}
