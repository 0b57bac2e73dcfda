import { randomUUID } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { TaskPayloads } from '../lifecycle/tasks.ts';
import { LAST_ADMIN_REFUSAL, guardsLastAdmin, removesLastAdmin, takesAwayAdmin, type LastAdminRefusal } from '../lifecycle/last-admin.ts';
import { resolvePolicy, type Policy } from '../lifecycle/policy.ts';
import { STORED_USER_STATUSES, type DisabledBy, type StoredUserStatus, type UserRole } from '../lifecycle/statuses.ts';
import {
  transition,
  type Effect,
  type LifecycleEvent,
  type LifecycleUser,
  type Refusal,
  type TransitionOk,
} from '../lifecycle/transition.ts';
import { LifecycleWrites, planUserWrite } from './lifecycle-writes.ts';
import { erasePersonalDetailsFromAudit, insertAuditEntriesSql } from './audit.ts';
import { erasePersonalDetailsFromProvisioningLog } from './provisioning-log.ts';
import { sqlExpression, sqlIn, type SqlFragment } from './sql.ts';
import { insertTasksSql } from './tasks.ts';
import { countOtherAdmins, derivedLoginSql, lastActivitySql, lockTenantUsers } from './users.ts';

/**
 * Applies a lifecycle event to one user: with its set-based form for a whole tenant
 * (applyLifecycleEventToIdleUsers) and the user's creation, the only code that writes a user's
 * status. It locks the user row in the caller's transaction, asks the pure `transition()` what happens, writes the
 * result guarded by the row's version, applies the effects, and audits, all in that transaction:
 * the change, its effects and its audit entry commit together or not at all.
 *
 * Mail effects become `welcome_email` task rows (the outbox) unless the caller sends the mail
 * itself (`mailInline`, the welcome_email job), in which case they are returned to it.
 */
export interface ApplyEventInput {
  tenantId: string;
  userId: string;
  event: LifecycleEvent;
  /** Audit actor: `scim:<token id>`, `admin:<token id>`, `operator:<user id>`, `system`, ... */
  actor: string;
  /** The task this change runs in, for the audit trail. */
  taskId?: string | null;
  /** Already loaded by the caller; read from the tenant otherwise. */
  policy?: Policy;
  /** For `set_password`: the new hash (never the plain password). */
  passwordHash?: string;
  /** Return mail effects to the caller instead of queuing welcome_email tasks. */
  mailInline?: boolean;
  /** Extra audit details (no secrets). */
  details?: Record<string, unknown>;
  /** The row as the caller already locked it in this transaction (saves a round trip). */
  locked?: LockedUserRow;
  /**
   * Hand the write to this batch instead of running it (group commit, src/queue/run-task.ts): the
   * batch runs the writes of many users as one statement before it commits. Needs `locked`.
   */
  defer?: LifecycleWrites;
}

export type ApplyEventResult =
  | { ok: true; from: StoredUserStatus; result: TransitionOk; mailEffects: Effect[] }
  | { ok: false; refusal: Refusal | LastAdminRefusal };

/** The user row as locked for a transition (FOR NO KEY UPDATE), with the tenant's policy. */
export interface LockedUserRow {
  status: StoredUserStatus;
  disabled_by: DisabledBy | null;
  failed_login_count: number;
  has_password: boolean;
  role: UserRole;
  /** Whether the login is derived (src/lifecycle/login.ts): it then follows the seat's person. */
  derived_login: boolean;
  version: number;
  policy: unknown;
}

/** The columns of LockedUserRow, over `users u join tenants t`: one list for every reader of it. */
export const LOCKED_USER_COLUMNS = `u.status, u.disabled_by, u.failed_login_count, u.password_hash is not null as has_password, u.role,
  ${derivedLoginSql('u')} as derived_login, u.version, t.policy`;

/** SCIM requests act as `scim:<token id>`, and so do the tasks they queue (termination, purge). */
const isIdpActor = (actor: string) => actor.startsWith('scim:');

export async function applyLifecycleEvent(em: EntityManager, input: ApplyEventInput): Promise<ApplyEventResult> {
  const sql = sqlIn(em);
  // One round trip: the user, locked for this transaction, and the tenant's policy beside it.
  // NO KEY UPDATE, not UPDATE: rows that merely reference the user (a password link, a task) can
  // still be inserted by other transactions meanwhile; their foreign-key check takes KEY SHARE.
  // A caller that already holds the lock (the reset job reads devices with it) passes its row.
  const row =
    input.locked ??
    (
      await sql<LockedUserRow>(
        `select ${LOCKED_USER_COLUMNS}
           from users u join tenants t on t.id = u.tenant_id
          where u.id = ? and u.tenant_id = ? for no key update of u`,
        [input.userId, input.tenantId],
      )
    )[0];
  const user: LifecycleUser | null = row
    ? {
        status: row.status,
        disabledBy: row.disabled_by,
        failedLoginCount: row.failed_login_count,
        hasPassword: row.has_password,
        ...(row.derived_login ? { derivedLogin: { userId: input.userId } } : {}),
      }
    : null;
  const policy = input.policy ?? (row ? resolvePolicy(row.policy) : await loadPolicy(em, input.tenantId));
  const result = transition(user, input.event, policy);
  if (!result.ok) return result;
  if (!row) throw new Error('transition accepted an event for a missing user'); // only `create`, which has its own path

  // Decisions that read the tenant's other users, serialised per tenant and written at once (not
  // deferred to the batch) so the next decision, in this transaction or after its commit, sees
  // them: the last admin (last-admin.ts) and a login picked among candidates (login.ts).
  const takesAdmin =
    !isIdpActor(input.actor) && guardsLastAdmin(input.event) && takesAwayAdmin({ role: row.role, status: row.status }, { role: row.role, status: result.status });
  const picksLogin = result.effects.some((e) => e.type === 'assign_login' && e.candidates.length > 1);
  if (takesAdmin || picksLogin) {
    await lockTenantUsers(em, input.tenantId);
    // The batch's writes so far go first, so the count sees the admins it already took away.
    if (input.defer) await input.defer.run(em);
  }
  if (takesAdmin && removesLastAdmin(1, await countOtherAdmins(em, input.tenantId, [input.userId]))) {
    return { ok: false, refusal: { ...LAST_ADMIN_REFUSAL } };
  }

  const mailEffects: Effect[] = [];
  const applied: Effect[] = [];
  for (const effect of result.effects) {
    if ((effect.type === 'send_welcome_email' || effect.type === 'send_recovery_email') && input.mailInline) mailEffects.push(effect);
    else applied.push(effect);
  }
  const audit = {
    action: `user.${input.event.type}`,
    details: { from: row.status, to: result.status, changed: result.changed, effects: result.effects.map((e) => e.type), ...input.details },
  };
  const write = planUserWrite(
    {
      tenantId: input.tenantId,
      userId: input.userId,
      version: row.version,
      from: row.status,
      actor: input.actor,
      taskId: input.taskId ?? null,
      ...(input.passwordHash ? { passwordHash: input.passwordHash } : {}),
      audit,
    },
    result,
    applied,
  );
  const purge = applied.some((e) => e.type === 'purge_personal_data');
  if (input.defer && input.locked && !purge && !takesAdmin && !picksLogin) input.defer.add(write);
  else {
    await new LifecycleWrites().add(write).run(em);
    if (purge) await purgePersonalData(em, input.userId);
  }
  return { ok: true, from: row.status, result, mailEffects };
}

export async function loadPolicy(em: EntityManager, tenantId: string): Promise<Policy> {
  const [tenant] = await sqlIn(em)<{ policy: unknown }>(`select policy from tenants where id = ?`, [tenantId]);
  return resolvePolicy(tenant?.policy);
}

export interface ApplyToIdleUsersInput {
  tenantId: string;
  /** An event whose every move is of the status alone (the inactivity sweep's active -> inactive). */
  event: LifecycleEvent;
  /** Users with no check-in, sign-in or status change for this many days. */
  idleDays: number;
  actor: string;
  taskId: string | null;
  policy: Policy;
  /** Extra audit details (no secrets). */
  details?: Record<string, unknown>;
}

/**
 * applyLifecycleEvent for every user of a tenant idle for `idleDays` (a status change counts, so a
 * user unbanned today is not swept at once), set-based: one UPDATE per status the event moves,
 * with the users' audit entries in the same statement, whatever the number of users. The moves are
 * read off the one transition function; only a move of the status alone (no effects, the same for
 * every user in that status) can be written this way, so a rule change that adds more fails
 * loudly instead of being skipped. Returns the number of users changed.
 */
export async function applyLifecycleEventToIdleUsers(em: EntityManager, input: ApplyToIdleUsersInput): Promise<number> {
  let changed = 0;
  for (const { from, to } of statusMoves(input.event, input.policy)) {
    const [row] = await sqlIn(em)<{ count: string }>(
      `with moved as (
         update users set status = ?, status_changed_at = now(), version = version + 1, updated_at = now()
          where tenant_id = ? and status = ?
            and ${lastActivitySql('users')} < now() - make_interval(days => ?)
         returning id
       ), audited as (
         insert into audit_entries (tenant_id, at, actor, action, user_id, task_id, details)
         select ?, now(), ?, ?, id, ?, ?::jsonb from moved
         returning 1
       )
       select count(*) as count from audited`,
      [
        to,
        input.tenantId,
        from,
        input.idleDays,
        input.tenantId,
        input.actor,
        `user.${input.event.type}`,
        input.taskId,
        JSON.stringify({ from, to, changed: true, ...input.details }),
      ],
    );
    changed += Number(row?.count ?? 0);
  }
  return changed;
}

/**
 * The statuses `event` moves, and where to, for a write of the status alone: every user in such a
 * status, whatever their other facts, goes to the same status with no effect and nothing else
 * changed. Anything else throws.
 */
export function statusMoves(event: LifecycleEvent, policy: Policy): Array<{ from: StoredUserStatus; to: StoredUserStatus }> {
  if (guardsLastAdmin(event)) throw new Error(`${event.type} is guarded by the last-admin rule; it cannot be applied to a set of users`);
  const moves: Array<{ from: StoredUserStatus; to: StoredUserStatus }> = [];
  for (const status of STORED_USER_STATUSES) {
    const users: LifecycleUser[] = (status === 'disabled' ? (['operator', 'idp'] as const) : [null]).flatMap((disabledBy) =>
      [0, 1].flatMap((failedLoginCount) => [true, false].map((hasPassword) => ({ status, disabledBy, failedLoginCount, hasPassword }))),
    );
    const results = users.map((user) => ({ user, result: transition(user, event, policy) }));
    const moved = results.flatMap(({ result }) => (result.ok && result.changed ? [result.status] : []));
    if (!moved.length) continue;
    const alone = results.every(
      ({ user, result }) =>
        result.ok && result.status === moved[0] && !result.effects.length && result.disabledBy === user.disabledBy && result.failedLoginCount === user.failedLoginCount,
    );
    if (!alone) throw new Error(`${event.type} of ${status} is more than a move of the status; it cannot be applied to a set of users`);
    moves.push({ from: status, to: moved[0]! });
  }
  return moves;
}

/** GDPR erasure: the tombstone keeps id, tenant and status; everything personal goes. */
async function purgePersonalData(em: EntityManager, userId: string): Promise<void> {
  const sql = sqlIn(em);
  await sql(`update phone_numbers set state = 'available', user_id = null, assigned_at = null where user_id = ?`, [userId]);
  for (const table of ['devices', 'user_data', 'group_memberships', 'api_tokens', 'password_links', 'operator_sessions']) {
    await sql(`delete from ${table} where user_id = ?`, [userId]);
  }
  await sql(
    `update users set user_name = null, derived_user_name = null, external_id = null, first_name = null, last_name = null, display_name = null,
        email = null, emails = '[]', phone = null, phone_numbers = '[]', department = null, title = null,
        employee_number = null, cost_center = null, organization = null, division = null, manager_id = null,
        termination_date = null, scim_extra = '{}', password_hash = null, pin_hash = null,
        last_checkin_at = null, last_signin_at = null
      where id = ?`,
    [userId],
  );
  // The reports' SCIM manager attribute changes: a new version of each (their ETags).
  await sql(`update users set manager_id = null, version = version + 1, updated_at = now() where manager_id = ?`, [userId]);
  await erasePersonalDetailsFromAudit(em, userId);
  await erasePersonalDetailsFromProvisioningLog(em, userId);
}

/** The columns a new user may be given (SCIM or admin); status and secrets are decided here. */
export type NewUserFields = Partial<
  Pick<
    import('./entities/user.ts').User,
    | 'externalId' | 'firstName' | 'lastName' | 'displayName' | 'email' | 'emails' | 'phone' | 'phoneNumbers'
    | 'extension' | 'department' | 'role' | 'title' | 'employeeNumber' | 'costCenter' | 'organization'
    | 'division' | 'managerId' | 'terminationDate' | 'scimExtra' | 'derivedUserName'
  >
> & { userName: string };

export interface CreateUserInput {
  tenantId: string;
  fields: NewUserFields;
  source: 'admin' | 'scim';
  actor: string;
  /** `false` creates the user disabled (by its source): SCIM `active: false`. */
  active?: boolean;
  /** Hash of a password the creator set (SCIM `password`); never the plain value. */
  passwordHash?: string;
  /** Admin: default true (a user an operator adds is sent a welcome). SCIM: tenant policy `sendWelcomeOnScimCreate` when unset. */
  sendWelcome?: boolean;
  policy?: Policy;
  details?: Record<string, unknown>;
}

export interface CreatedUser {
  ok: true;
  userId: string;
  result: TransitionOk;
}
export interface RefusedCreate {
  ok: false;
  refusal: Refusal;
  skipped?: undefined;
}
/** The statement's condition for this user was false (CreateStatement `onlyIf`): nothing was written. */
export interface SkippedCreate {
  ok: false;
  skipped: true;
  refusal?: undefined;
}

/** What the create statement also does, for this store's modules (src/store/scim-users.ts). */
export interface CreateStatement<I extends CreateUserInput> {
  /** A select list over the new row `u` (all its columns), returned as `row`; no placeholders. Default `u.id`. */
  returning?: string;
  /**
   * A condition per user, checked by the same statement: when false that user is not written and
   * its outcome is `skipped`. Lets a caller outside a transaction create only if, at that
   * statement's snapshot, nothing it would do otherwise applies.
   */
  onlyIf?(input: I): SqlFragment | undefined;
}

/**
 * Creates a user through the one transition function (event `create`): status, disabledBy and
 * the welcome email come from `transition(null, create, policy)`; the row, its audit entry and a
 * welcome_email task (the outbox) are ONE statement (data-modifying CTEs, like writeStatement for
 * transitions), so they commit together even outside a transaction and cost one round trip. A
 * taken userName surfaces as the database's unique violation (`users_tenant_username_key`,
 * SQLSTATE 23505) for the caller to answer in its protocol's format.
 */
export async function createUserWithLifecycle(em: EntityManager, input: CreateUserInput): Promise<CreatedUser | RefusedCreate> {
  const [outcome] = await createUsersWithLifecycle(em, [input]);
  if (outcome!.ok) return { ok: true, userId: outcome!.userId, result: outcome!.result };
  if (outcome!.skipped) throw new Error('a create without a condition was skipped');
  return outcome!;
}

/**
 * createUserWithLifecycle for several users in ONE statement (concurrent SCIM creates share it:
 * one round trip and one commit for all). Each user's row, task and audit entry are as if created
 * alone; a false `onlyIf` holds back its own user only. `returning` is selected for every user.
 * One failure (a taken userName) fails the statement, so nothing is written and the caller may
 * retry the creates one by one.
 */
export async function createUsersWithLifecycle<I extends CreateUserInput>(
  em: EntityManager,
  inputs: readonly I[],
  statement: CreateStatement<I> = {},
): Promise<Array<(CreatedUser & { row: Record<string, unknown> }) | RefusedCreate | SkippedCreate>> {
  const policies = new Map<string, Policy>();
  const planned: Array<{ input: I; result: TransitionOk; id: string; onlyIf: SqlFragment | undefined } | RefusedCreate> = [];
  for (const input of inputs) {
    let policy = input.policy ?? policies.get(input.tenantId);
    if (!policy) policies.set(input.tenantId, (policy = await loadPolicy(em, input.tenantId)));
    const result = transition(
      null,
      {
        type: 'create',
        source: input.source,
        ...(input.active === undefined ? {} : { active: input.active }),
        withPassword: input.passwordHash !== undefined,
        ...(input.sendWelcome === undefined ? {} : { sendWelcome: input.sendWelcome }),
      },
      policy,
    );
    planned.push(result.ok ? { input, result, id: randomUUID(), onlyIf: statement.onlyIf?.(input) } : result);
  }
  const creates = planned.filter((p): p is Exclude<typeof p, RefusedCreate> => 'input' in p);
  const rows = new Map<string, Record<string, unknown>>();
  if (creates.length) {
    const insert = createStatement(creates, statement.returning ?? 'u.id');
    for (const { __id, ...row } of await sqlIn(em)<Record<string, unknown> & { __id: string }>(insert.sql, insert.params)) rows.set(__id, row);
  }
  return planned.map((p) => {
    if (!('input' in p)) return p;
    const row = rows.get(p.id);
    if (row) return { ok: true, userId: p.id, result: p.result, row };
    if (p.onlyIf) return { ok: false, skipped: true };
    throw new Error('user insert returned no row');
  });
}

/**
 * The users (one SELECT each, under its own `onlyIf`), a welcome_email task per mail effect and an
 * audit entry each, reading the rows the insert returned. Every value is cast: in a UNION the
 * literals would otherwise be text, which uuid or boolean columns do not take.
 */
function createStatement(
  creates: Array<{ input: CreateUserInput; result: TransitionOk; id: string; onlyIf: SqlFragment | undefined }>,
  returning: string,
): SqlFragment {
  const params: unknown[] = [];
  const selects = creates.map(({ input, result, id, onlyIf }) => {
    const f = input.fields;
    params.push(
      id,
      input.tenantId,
      f.userName,
      f.derivedUserName ?? null,
      f.externalId ?? null,
      f.firstName ?? null,
      f.lastName ?? null,
      f.displayName ?? null,
      f.email ?? null,
      JSON.stringify(f.emails ?? []),
      f.phone ?? null,
      JSON.stringify(f.phoneNumbers ?? []),
      f.extension ?? null,
      f.department ?? null,
      f.role ?? 'basic_user',
      f.title ?? null,
      f.employeeNumber ?? null,
      f.costCenter ?? null,
      f.organization ?? null,
      f.division ?? null,
      f.managerId ?? null,
      f.terminationDate ?? null,
      JSON.stringify(f.scimExtra ?? {}),
      result.status,
      result.disabledBy,
      input.active !== false,
      input.passwordHash ?? null,
      ...(onlyIf?.params ?? []),
    );
    return `select ?::uuid, ?::uuid, ?::text, ?::text, ?::text, ?::text, ?::text, ?::text, ?::text, ?::jsonb, ?::text, ?::jsonb, ?::text, ?::text,
        ?::text, ?::text, ?::text, ?::text, ?::text, ?::text, ?::uuid, ?::timestamptz, ?::jsonb, ?::text, ?::text, ?::boolean, ?::text,
        0, now(), 1, now(), now()${onlyIf ? ` where (${onlyIf.sql})` : ''}`;
  });
  const ctes = [
    `u as (insert into users (id, tenant_id, user_name, derived_user_name, external_id, first_name, last_name, display_name, email, emails, phone,
        phone_numbers, extension, department, role, title, employee_number, cost_center, organization, division,
        manager_id, termination_date, scim_extra, status, disabled_by, idp_active, password_hash, failed_login_count,
        status_changed_at, version, created_at, updated_at)
     ${selects.join('\n     union all ')}
     returning *)`,
  ];
  // set_password needs nothing more: the hash went in with the row.
  const x = sqlExpression;
  const mail = creates.flatMap(({ input, result, id }) => result.effects.filter((e) => e.type === 'send_welcome_email').map(() => ({ id, actor: input.actor })));
  if (mail.length) {
    const insert = insertTasksSql(
      { tenantId: x('u.tenant_id'), userId: x('u.id'), type: 'welcome_email', payload: { purpose: 'welcome' } satisfies TaskPayloads['welcome_email'], actor: x('m.actor') },
      { sql: `u join (values ${mail.map(() => '(?::uuid, ?::text)').join(', ')}) m(id, actor) on m.id = u.id`, params: mail.flatMap((m) => [m.id, m.actor]) },
    );
    ctes.push(`mail as (${insert.sql})`);
    params.push(...insert.params);
  }
  const audit = insertAuditEntriesSql(
    { tenantId: x('u.tenant_id'), actor: x('a.actor'), action: 'user.create', userId: x('u.id'), details: x('a.details') },
    {
      sql: `u join (values ${creates.map(() => '(?::uuid, ?::text, ?::jsonb)').join(', ')}) a(id, actor, details) on a.id = u.id`,
      params: creates.flatMap(({ input, result, id }) => [
        id,
        input.actor,
        JSON.stringify({ to: result.status, source: input.source, effects: result.effects.map((e) => e.type), ...input.details }),
      ]),
    },
  );
  ctes.push(`aud as (${audit.sql})`);
  params.push(...audit.params);
  return { sql: `with ${ctes.join(',\n')}\n    select u.id as __id, ${returning} from u`, params };
}
