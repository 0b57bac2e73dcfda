import { randomUUID } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { TaskPayloads } from '../lifecycle/tasks.ts';
import { LAST_ADMIN_REFUSAL, guardsLastAdmin, removesLastAdmin, takesAwayAdmin, type LastAdminRefusal } from '../lifecycle/last-admin.ts';
import { resolvePolicy, type Policy } from '../lifecycle/policy.ts';
import type { DisabledBy, StoredUserStatus, UserRole } from '../lifecycle/statuses.ts';
import {
  transition,
  type Effect,
  type LifecycleEvent,
  type LifecycleUser,
  type Refusal,
  type TransitionOk,
} from '../lifecycle/transition.ts';
import { LifecycleWrites, planUserWrite } from './lifecycle-writes.ts';
import { sqlIn } from './sql.ts';
import { countOtherAdmins, derivedLoginSql, lockTenantUsers } from './users.ts';

/**
 * Applies a lifecycle event to one user: the only code that writes a user's status. It locks the
 * user row in the caller's transaction, asks the pure `transition()` what happens, writes the
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
  await sql(`update users set manager_id = null where manager_id = ?`, [userId]);
  // Earlier audit entries keep the pseudonymous id and the actions, not the person's details.
  await sql(`update audit_entries set details = details - 'userName' - 'email' - 'firstName' - 'lastName' - 'displayName' where user_id = ?`, [
    userId,
  ]);
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
  /** Admin: default true. SCIM: tenant policy `sendWelcomeOnScimCreate` when unset. */
  sendWelcome?: boolean;
  policy?: Policy;
  details?: Record<string, unknown>;
  /**
   * A select list over the new row `u` (all its columns) returned as `row`, so a caller that
   * answers with the user needs no second read. Default `u.id`. No placeholders.
   */
  returning?: string;
  /**
   * A condition (knex `?` placeholders) checked by the same statement: when false nothing is
   * written and the result is `{ ok: false, skipped: true }`. Lets a caller outside a transaction
   * create only if, at that statement's snapshot, nothing it would do otherwise applies.
   */
  onlyIf?: { sql: string; params: unknown[] };
}

export interface CreatedUser {
  ok: true;
  userId: string;
  result: TransitionOk;
  /** What `returning` selected over the new row. */
  row: Record<string, unknown>;
}
export interface RefusedCreate {
  ok: false;
  refusal: Refusal;
  skipped?: undefined;
}
/** `onlyIf` was false: nothing was written. */
export interface SkippedCreate {
  ok: false;
  skipped: true;
  refusal?: undefined;
}

/**
 * Creates a user through the one transition function (event `create`): status, disabledBy and
 * the welcome email come from `transition(null, create, policy)`; the row, its audit entry and a
 * welcome_email task (the outbox) are ONE statement (data-modifying CTEs, like writeStatement for
 * transitions), so they commit together even outside a transaction and cost one round trip. A
 * taken userName surfaces as the database's unique violation (`users_tenant_username_key`,
 * SQLSTATE 23505) for the caller to answer in its protocol's format.
 */
export async function createUserWithLifecycle(
  em: EntityManager,
  input: CreateUserInput & { onlyIf: NonNullable<CreateUserInput['onlyIf']> },
): Promise<CreatedUser | RefusedCreate | SkippedCreate>;
export async function createUserWithLifecycle(em: EntityManager, input: CreateUserInput): Promise<CreatedUser | RefusedCreate>;
export async function createUserWithLifecycle(em: EntityManager, input: CreateUserInput): Promise<CreatedUser | RefusedCreate | SkippedCreate> {
  return (await createUsersWithLifecycle(em, [input], input.returning))[0]!;
}

/**
 * createUserWithLifecycle for several users in ONE statement (concurrent SCIM creates share it:
 * one round trip and one commit for all). Each user's row, task and audit entry are as if created
 * alone; an `onlyIf` holds back its own user only. `returning` (the inputs' own is ignored) is
 * selected for every user. One failure (a taken userName) fails the statement, so nothing is
 * written and the caller may retry the creates one by one.
 */
export async function createUsersWithLifecycle(
  em: EntityManager,
  inputs: CreateUserInput[],
  returning = 'u.id',
): Promise<Array<CreatedUser | RefusedCreate | SkippedCreate>> {
  const policies = new Map<string, Policy>();
  const planned: Array<{ input: CreateUserInput; result: TransitionOk; id: string } | RefusedCreate> = [];
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
    planned.push(result.ok ? { input, result, id: randomUUID() } : result);
  }
  const creates = planned.filter((p): p is Exclude<typeof p, RefusedCreate> => 'input' in p);
  const rows = new Map<string, Record<string, unknown>>();
  if (creates.length) {
    const statement = createStatement(creates, returning);
    for (const { __id, ...row } of await sqlIn(em)<Record<string, unknown> & { __id: string }>(statement.sql, statement.params)) rows.set(__id, row);
  }
  return planned.map((p) => {
    if (!('input' in p)) return p;
    const row = rows.get(p.id);
    if (row) return { ok: true, userId: p.id, result: p.result, row };
    if (p.input.onlyIf) return { ok: false, skipped: true };
    throw new Error('user insert returned no row');
  });
}

/**
 * The users (one SELECT each, under its own `onlyIf`), a welcome_email task per mail effect and an
 * audit entry each, reading the rows the insert returned. Every value is cast: in a UNION the
 * literals would otherwise be text, which uuid or boolean columns do not take.
 */
function createStatement(creates: Array<{ input: CreateUserInput; result: TransitionOk; id: string }>, returning: string): { sql: string; params: unknown[] } {
  const params: unknown[] = [];
  const selects = creates.map(({ input, result, id }) => {
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
      ...(input.onlyIf?.params ?? []),
    );
    return `select ?::uuid, ?::uuid, ?::text, ?::text, ?::text, ?::text, ?::text, ?::text, ?::text, ?::jsonb, ?::text, ?::jsonb, ?::text, ?::text,
        ?::text, ?::text, ?::text, ?::text, ?::text, ?::text, ?::uuid, ?::timestamptz, ?::jsonb, ?::text, ?::text, ?::boolean, ?::text,
        0, now(), 1, now(), now()${input.onlyIf ? ` where (${input.onlyIf.sql})` : ''}`;
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
  const mail = creates.flatMap(({ input, result, id }) => result.effects.filter((e) => e.type === 'send_welcome_email').map(() => ({ id, actor: input.actor })));
  if (mail.length) {
    ctes.push(
      `mail as (insert into tasks (id, tenant_id, user_id, type, payload, actor, run_at)
        select gen_random_uuid(), u.tenant_id, u.id, 'welcome_email', ?::jsonb, m.actor, now()
          from u join (values ${mail.map(() => '(?::uuid, ?::text)').join(', ')}) m(id, actor) on m.id = u.id)`,
    );
    params.push(JSON.stringify({ purpose: 'welcome' } satisfies TaskPayloads['welcome_email']), ...mail.flatMap((m) => [m.id, m.actor]));
  }
  ctes.push(
    `aud as (insert into audit_entries (tenant_id, at, actor, action, user_id, details)
      select u.tenant_id, now(), a.actor, 'user.create', u.id, a.details
        from u join (values ${creates.map(() => '(?::uuid, ?::text, ?::jsonb)').join(', ')}) a(id, actor, details) on a.id = u.id)`,
  );
  for (const { input, result, id } of creates) {
    params.push(id, input.actor, JSON.stringify({ to: result.status, source: input.source, effects: result.effects.map((e) => e.type), ...input.details }));
  }
  return { sql: `with ${ctes.join(',\n')}\n    select u.id as __id, ${returning} from u`, params };
}
