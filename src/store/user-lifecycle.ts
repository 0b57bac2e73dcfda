import { randomUUID } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { TaskPayloads } from '../../jobs/registry.ts';
import { resolvePolicy, type Policy } from '../lifecycle/policy.ts';
import { DEFAULT_ANSWERING_RULE, type ResetPlan } from '../lifecycle/reset-plan.ts';
import type { DisabledBy, StoredUserStatus } from '../lifecycle/statuses.ts';
import {
  transition,
  type Effect,
  type LifecycleEvent,
  type LifecycleUser,
  type Refusal,
  type TransitionOk,
} from '../lifecycle/transition.ts';
import { pgArray, sqlIn } from './sql.ts';

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
  defer?: DeferredWrites;
}

export type ApplyEventResult =
  | { ok: true; from: StoredUserStatus; result: TransitionOk; mailEffects: Effect[] }
  | { ok: false; refusal: Refusal };

/** The user row as locked for a transition (FOR NO KEY UPDATE), with the tenant's policy. */
export interface LockedUserRow {
  status: StoredUserStatus;
  disabled_by: DisabledBy | null;
  failed_login_count: number;
  has_password: boolean;
  version: number;
  policy: unknown;
}

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
        `select u.status, u.disabled_by, u.failed_login_count, u.password_hash is not null as has_password, u.version, t.policy
           from users u join tenants t on t.id = u.tenant_id
          where u.id = ? and u.tenant_id = ? for no key update of u`,
        [input.userId, input.tenantId],
      )
    )[0];
  const user: LifecycleUser | null = row
    ? { status: row.status, disabledBy: row.disabled_by, failedLoginCount: row.failed_login_count, hasPassword: row.has_password }
    : null;
  const policy = input.policy ?? (row ? resolvePolicy(row.policy) : await loadPolicy(em, input.tenantId));
  const result = transition(user, input.event, policy);
  if (!result.ok) return result;
  if (!row) throw new Error('transition accepted an event for a missing user'); // only `create`, which has its own path

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
  const purge = applied.some((e) => e.type === 'purge_personal_data');
  if (input.defer && input.locked && !purge) {
    input.defer.add((prefix) => writeStatement(input, row, result, applied, audit, prefix));
  } else {
    await new DeferredWrites().add((prefix) => writeStatement(input, row, result, applied, audit, prefix)).run(em);
    if (purge) await purgePersonalData(em, input.userId);
  }
  return { ok: true, from: row.status, result, mailEffects };
}

/** One user's write: its CTEs (names prefixed), their parameters, and the CTE that updates the row. */
interface WriteParts {
  ctes: string[];
  params: unknown[];
  userCte: string;
}

/**
 * Lifecycle writes of distinct users, run as ONE statement: each user's CTEs side by side. Each
 * user's CTEs touch only that user's rows, so no row is modified twice in the statement, which
 * PostgreSQL forbids; the caller keeps a batch to one write per user.
 */
export class DeferredWrites {
  private readonly parts: WriteParts[] = [];

  add(build: (prefix: string) => WriteParts): this {
    this.parts.push(build(this.parts.length ? `w${this.parts.length}_` : ''));
    return this;
  }

  get size(): number {
    return this.parts.length;
  }

  async run(em: EntityManager): Promise<void> {
    if (!this.parts.length) return;
    const counts = this.parts.map((p) => `(select count(*) from ${p.userCte})`).join(' + ');
    const [outcome] = await sqlIn(em)<{ user_rows: number }>(
      `with ${this.parts.flatMap((p) => p.ctes).join(',\n')} select (${counts})::int as user_rows`,
      this.parts.flatMap((p) => p.params),
    );
    // Every row was locked by this transaction at the version read, so this only fails if that
    // invariant is broken; the transaction then rolls back whole.
    if (Number(outcome?.user_rows) !== this.parts.length) throw new Error('a user changed while locked');
    this.parts.length = 0;
  }
}

export async function loadPolicy(em: EntityManager, tenantId: string): Promise<Policy> {
  const [tenant] = await sqlIn(em)<{ policy: unknown }>(`select policy from tenants where id = ?`, [tenantId]);
  return resolvePolicy(tenant?.policy);
}

/**
 * The status change, every effect but the purge, and the audit entry as ONE statement: a user
 * update plus data-modifying CTEs, one per table touched (names prefixed, so a batch of users can
 * share one statement: see DeferredWrites). Round trips are what 10,000 resets are made of
 * (bench/jobs.ts). PostgreSQL runs
 * all CTEs on one snapshot and a row must not be modified twice in one statement, which is why
 * effects are merged per table first (all user columns in one UPDATE, all token revocations in
 * one, ...). Effects are idempotent: revoking what is revoked or deleting what is gone is a no-op.
 */
function writeStatement(
  input: ApplyEventInput,
  row: LockedUserRow,
  result: TransitionOk,
  effects: Effect[],
  audit: { action: string; details: Record<string, unknown> },
  prefix: string,
): WriteParts {
  const { userId, tenantId } = input;
  // Column -> assignment; a column set by two effects (say clear_password and a reset) is written
  // once, by the later one, since PostgreSQL refuses two assignments to one column.
  const assignments = new Map<string, { sql: string; values: unknown[] }>();
  /** `fragment` is `column = <sql>` with one `?` per value, or a bare column for `column = ?`. */
  const set = (fragment: string, ...values: unknown[]) => {
    const column = fragment.split('=')[0]!.trim();
    assignments.set(column, { sql: fragment.includes('=') ? fragment : `${fragment} = ?`, values });
  };
  if (result.changed) {
    set('status', result.status);
    set('disabled_by', result.disabledBy);
    set('failed_login_count', result.failedLoginCount);
    if (result.status !== row.status) set('status_changed_at = now()');
  }
  const revokeKinds = new Set<'device' | 'other'>();
  let expireLinks = false;
  let clearHistory = false;
  const deleteDeviceKinds = new Set<string>();
  let deleteAllDevices = false;
  const deleteDataKinds = new Set<string>();
  let restoreDefaultRule = false;
  let unassignNumber = false;
  const mail: Array<'welcome' | 'recovery'> = [];

  for (const effect of effects) {
    switch (effect.type) {
      case 'revoke_sessions':
        revokeKinds.add('other'); // interactive sessions: every token of the user's but device tokens
        break;
      case 'revoke_device_tokens':
        revokeKinds.add('device');
        break;
      case 'revoke_password_links':
        expireLinks = true;
        break;
      case 'clear_history_on_devices':
        clearHistory = true;
        break;
      case 'clear_password':
        set('password_hash = null');
        break;
      case 'set_password':
        if (!input.passwordHash) throw new Error('set_password needs a password hash');
        set('password_hash', input.passwordHash);
        break;
      case 'record_activity':
        set(effect.via === 'checkin' ? 'last_checkin_at = now()' : 'last_signin_at = now()');
        break;
      case 'clear_reset_data': {
        // Always: the person (name, email), their password and PIN, soft phones and app sessions.
        for (const column of ['first_name', 'last_name', 'display_name', 'email', 'password_hash', 'pin_hash']) set(`${column} = null`);
        set(`emails = '[]'`);
        revokeKinds.add('device').add('other');
        deleteDeviceKinds.add('soft_phone');
        for (const kind of effect.plan.clearUserDataKinds) deleteDataKinds.add(kind);
        if (effect.plan.restoreDefaultAnsweringRule) restoreDefaultRule = true;
        if (effect.plan.unassignPhoneNumber) unassignNumber = true;
        if (effect.plan.removeDeviceLines) deleteAllDevices = true;
        break;
      }
      case 'assign_person':
        set('first_name', effect.firstName);
        set('last_name', effect.lastName);
        set('display_name', `${effect.firstName} ${effect.lastName}`);
        set('email', effect.email);
        set('emails = ?::jsonb', JSON.stringify(effect.email ? [{ value: effect.email, type: 'work', primary: true }] : []));
        break;
      case 'purge_personal_data':
        break; // its own statements, after this one (see purgePersonalData)
      case 'send_welcome_email':
      case 'send_recovery_email':
        mail.push(effect.type === 'send_welcome_email' ? 'welcome' : 'recovery');
        break;
    }
  }

  // Only a changed row gets a new version; an unchanged one is still "touched" so the count
  // below proves the row was there and locked.
  const sets = [...assignments.values()].map((a) => a.sql);
  const setParams = [...assignments.values()].flatMap((a) => a.values);
  const touched = sets.length > 0;
  const ctes: string[] = [];
  const params: unknown[] = [];
  const cte = (name: string, body: string, values: unknown[] = []) => {
    ctes.push(`${prefix}${name} as (${body})`);
    params.push(...values);
  };
  cte(
    'u',
    touched
      ? `update users set ${sets.join(', ')}, version = version + 1, updated_at = now() where id = ? and version = ? returning id`
      : `select id from users where id = ? and version = ?`,
    [...setParams, userId, row.version],
  );
  if (revokeKinds.size === 2) cte('tok', `update api_tokens set revoked_at = now() where user_id = ? and revoked_at is null returning 1`, [userId]);
  else if (revokeKinds.size === 1) {
    const op = revokeKinds.has('device') ? '=' : '<>';
    cte('tok', `update api_tokens set revoked_at = now() where user_id = ? and kind ${op} 'device' and revoked_at is null returning 1`, [userId]);
  }
  if (revokeKinds.has('other')) {
    // Console sign-ins are sessions too: a banned or deprovisioned operator is signed out at once.
    cte('ses', `update operator_sessions set revoked_at = now() where user_id = ? and revoked_at is null returning 1`, [userId]);
  }
  if (expireLinks) {
    cte('lnk', `update password_links set expires_at = now() where user_id = ? and used_at is null and expires_at > now() returning 1`, [userId]);
  }
  if (deleteAllDevices) cte('dev', `delete from devices where user_id = ? returning 1`, [userId]);
  else if (deleteDeviceKinds.size) {
    cte('dev', `delete from devices where user_id = ? and kind = any(?::text[]) returning 1`, [userId, pgArray([...deleteDeviceKinds])]);
  }
  if (clearHistory && !deleteAllDevices) {
    cte('hist', `update devices set clear_history = true where user_id = ? and removed_at is null and kind <> all(?::text[]) returning 1`, [
      userId,
      pgArray([...deleteDeviceKinds]),
    ]);
  }
  if (deleteDataKinds.size) {
    cte('dat', `delete from user_data where user_id = ? and kind = any(?::text[]) returning 1`, [userId, pgArray([...deleteDataKinds])]);
  }
  if (restoreDefaultRule) {
    // Same snapshot as the delete above, so the delete never sees (and removes) this new row.
    cte('rule', `insert into user_data (id, tenant_id, user_id, kind, payload) values (gen_random_uuid(), ?, ?, 'answering_rule', ?::jsonb) returning 1`, [
      tenantId,
      userId,
      JSON.stringify(DEFAULT_ANSWERING_RULE),
    ]);
  }
  if (unassignNumber) {
    cte('num', `update phone_numbers set state = 'available', user_id = null, assigned_at = null where user_id = ? returning 1`, [userId]);
  }
  mail.forEach((purpose, i) => {
    cte(
      `mail${i}`,
      `insert into tasks (id, tenant_id, user_id, type, payload, actor, run_at) values (gen_random_uuid(), ?, ?, 'welcome_email', ?::jsonb, ?, now()) returning 1`,
      [tenantId, userId, JSON.stringify({ purpose } satisfies TaskPayloads['welcome_email']), input.actor],
    );
  });
  cte(
    'aud',
    `insert into audit_entries (tenant_id, at, actor, action, user_id, task_id, details) select ?, now(), ?, ?, ?, ?, ?::jsonb from ${prefix}u returning 1`,
    [tenantId, input.actor, audit.action, userId, input.taskId ?? null, JSON.stringify(audit.details)],
  );
  return { ctes, params, userCte: `${prefix}u` };
}

/** GDPR erasure: the tombstone keeps id, tenant and status; everything personal goes. */
async function purgePersonalData(em: EntityManager, userId: string): Promise<void> {
  const sql = sqlIn(em);
  await sql(`update phone_numbers set state = 'available', user_id = null, assigned_at = null where user_id = ?`, [userId]);
  for (const table of ['devices', 'user_data', 'group_memberships', 'api_tokens', 'password_links', 'operator_sessions']) {
    await sql(`delete from ${table} where user_id = ?`, [userId]);
  }
  await sql(
    `update users set user_name = null, external_id = null, first_name = null, last_name = null, display_name = null,
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
    | 'division' | 'managerId' | 'terminationDate' | 'scimExtra'
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
  /** Admin: default true (seed 004). SCIM: tenant policy `sendWelcomeOnScimCreate` when unset. */
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
    return `select ?::uuid, ?::uuid, ?::text, ?::text, ?::text, ?::text, ?::text, ?::text, ?::jsonb, ?::text, ?::jsonb, ?::text, ?::text,
        ?::text, ?::text, ?::text, ?::text, ?::text, ?::text, ?::uuid, ?::timestamptz, ?::jsonb, ?::text, ?::text, ?::boolean, ?::text,
        0, now(), 1, now(), now()${input.onlyIf ? ` where (${input.onlyIf.sql})` : ''}`;
  });
  const ctes = [
    `u as (insert into users (id, tenant_id, user_name, external_id, first_name, last_name, display_name, email, emails, phone,
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
