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
}

export type ApplyEventResult =
  | { ok: true; from: StoredUserStatus; result: TransitionOk; mailEffects: Effect[] }
  | { ok: false; refusal: Refusal };

interface LockedUserRow {
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
  const [row] = await sql<LockedUserRow>(
    `select u.status, u.disabled_by, u.failed_login_count, u.password_hash is not null as has_password, u.version, t.policy
       from users u join tenants t on t.id = u.tenant_id
      where u.id = ? and u.tenant_id = ? for no key update of u`,
    [input.userId, input.tenantId],
  );
  const user: LifecycleUser | null = row
    ? { status: row.status, disabledBy: row.disabled_by, failedLoginCount: row.failed_login_count, hasPassword: row.has_password }
    : null;
  const policy = input.policy ?? (row ? resolvePolicy(row.policy) : await loadPolicy(em, input.tenantId));
  const result = transition(user, input.event, policy);
  if (!result.ok) return result;
  if (!row) throw new Error('transition accepted an event for a missing user'); // only `create`, which has its own path

  if (result.changed) {
    const updated = await sql<{ id: string }>(
      `update users set status = ?, disabled_by = ?, failed_login_count = ?,
          status_changed_at = case when status <> ? then now() else status_changed_at end,
          version = version + 1, updated_at = now()
        where id = ? and version = ? returning id`,
      [result.status, result.disabledBy, result.failedLoginCount, result.status, input.userId, row.version],
    );
    // The row is locked FOR UPDATE above, so this only fails if that invariant is broken.
    if (updated.length !== 1) throw new Error(`user ${input.userId} changed while locked`);
  }

  const mailEffects: Effect[] = [];
  for (const effect of result.effects) {
    if (effect.type === 'send_welcome_email' || effect.type === 'send_recovery_email') {
      if (input.mailInline) mailEffects.push(effect);
      else await queueMail(em, input, effect.type === 'send_welcome_email' ? 'welcome' : 'recovery');
      continue;
    }
    await applyEffect(em, input, effect);
  }

  // Raw inserts rather than the unit of work: this runs once per task of a 10,000-user operation.
  await sql(
    `insert into audit_entries (tenant_id, at, actor, action, user_id, task_id, details) values (?, now(), ?, ?, ?, ?, ?::jsonb)`,
    [
      input.tenantId,
      input.actor,
      `user.${input.event.type}`,
      input.userId,
      input.taskId ?? null,
      JSON.stringify({ from: row.status, to: result.status, changed: result.changed, effects: result.effects.map((e) => e.type), ...input.details }),
    ],
  );
  return { ok: true, from: row.status, result, mailEffects };
}

export async function loadPolicy(em: EntityManager, tenantId: string): Promise<Policy> {
  const [tenant] = await sqlIn(em)<{ policy: unknown }>(`select policy from tenants where id = ?`, [tenantId]);
  return resolvePolicy(tenant?.policy);
}

async function queueMail(em: EntityManager, input: ApplyEventInput, purpose: TaskPayloads['welcome_email']['purpose']): Promise<void> {
  await sqlIn(em)(
    `insert into tasks (id, tenant_id, user_id, type, payload, actor, run_at) values (gen_random_uuid(), ?, ?, 'welcome_email', ?::jsonb, ?, now())`,
    [input.tenantId, input.userId, JSON.stringify({ purpose } satisfies TaskPayloads['welcome_email']), input.actor],
  );
}

async function applyEffect(em: EntityManager, input: ApplyEventInput, effect: Effect): Promise<void> {
  const sql = sqlIn(em);
  const { userId } = input;
  switch (effect.type) {
    case 'revoke_sessions':
      // Interactive sessions are tokens bound to the user that are not device tokens.
      await sql(`update api_tokens set revoked_at = now() where user_id = ? and kind <> 'device' and revoked_at is null`, [userId]);
      return;
    case 'revoke_device_tokens':
      await sql(`update api_tokens set revoked_at = now() where user_id = ? and kind = 'device' and revoked_at is null`, [userId]);
      return;
    case 'revoke_password_links':
      await sql(`update password_links set expires_at = now() where user_id = ? and used_at is null and expires_at > now()`, [userId]);
      return;
    case 'clear_history_on_devices':
      await sql(`update devices set clear_history = true where user_id = ? and removed_at is null`, [userId]);
      return;
    case 'clear_password':
      await sql(`update users set password_hash = null where id = ?`, [userId]);
      return;
    case 'set_password':
      if (!input.passwordHash) throw new Error('set_password needs a password hash');
      await sql(`update users set password_hash = ? where id = ?`, [input.passwordHash, userId]);
      return;
    case 'record_activity':
      await sql(
        effect.via === 'checkin' ? `update users set last_checkin_at = now() where id = ?` : `update users set last_signin_at = now() where id = ?`,
        [userId],
      );
      return;
    case 'clear_reset_data':
      await clearResetData(em, input.tenantId, userId, effect.plan);
      return;
    case 'assign_person':
      await sql(
        `update users set first_name = ?, last_name = ?, display_name = ?, email = ?,
            emails = case when ?::text is null then '[]'::jsonb else jsonb_build_array(jsonb_build_object('value', ?::text, 'type', 'work', 'primary', true)) end
          where id = ?`,
        [effect.firstName, effect.lastName, `${effect.firstName} ${effect.lastName}`, effect.email, effect.email, effect.email, userId],
      );
      return;
    case 'purge_personal_data':
      await purgePersonalData(em, userId);
      return;
    case 'send_welcome_email':
    case 'send_recovery_email':
      return; // handled by the caller of applyEffect
  }
}

/**
 * Clears exactly what the plan lists. Deleting what is already gone is a no-op, so a retried reset
 * leaves the same result as one clean run.
 */
async function clearResetData(em: EntityManager, tenantId: string, userId: string, plan: ResetPlan): Promise<void> {
  const sql = sqlIn(em);
  // Always: the person (name, email), their password and PIN, soft phones and app sessions.
  await sql(
    `update users set first_name = null, last_name = null, display_name = null, email = null, emails = '[]',
        password_hash = null, pin_hash = null
      where id = ?`,
    [userId],
  );
  await sql(`update api_tokens set revoked_at = now() where user_id = ? and revoked_at is null`, [userId]);
  await sql(`delete from devices where user_id = ? and kind = 'soft_phone'`, [userId]);
  if (plan.clearUserDataKinds.length) {
    await sql(`delete from user_data where user_id = ? and kind = any(?::text[])`, [userId, pgArray(plan.clearUserDataKinds)]);
  }
  if (plan.restoreDefaultAnsweringRule) {
    await sql(
      `insert into user_data (id, tenant_id, user_id, kind, payload) values (gen_random_uuid(), ?, ?, 'answering_rule', ?::jsonb)`,
      [tenantId, userId, JSON.stringify(DEFAULT_ANSWERING_RULE)],
    );
  }
  if (plan.unassignPhoneNumber) {
    await sql(`update phone_numbers set state = 'available', user_id = null, assigned_at = null where user_id = ?`, [userId]);
  }
  if (plan.removeDeviceLines) {
    await sql(`delete from devices where user_id = ?`, [userId]);
  }
}

/** GDPR erasure: the tombstone keeps id, tenant and status; everything personal goes. */
async function purgePersonalData(em: EntityManager, userId: string): Promise<void> {
  const sql = sqlIn(em);
  await sql(`update phone_numbers set state = 'available', user_id = null, assigned_at = null where user_id = ?`, [userId]);
  for (const table of ['devices', 'user_data', 'group_memberships', 'api_tokens', 'password_links']) {
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
}

/**
 * Creates a user through the one transition function (event `create`): status, disabledBy and
 * the welcome email come from `transition(null, create, policy)`; the row, its audit entry and a
 * welcome_email task (the outbox) are written in the caller's transaction. A taken userName
 * surfaces as the database's unique violation (`users_tenant_username_key`, SQLSTATE 23505) for
 * the caller to answer in its protocol's format.
 */
export async function createUserWithLifecycle(
  em: EntityManager,
  input: CreateUserInput,
): Promise<{ ok: true; userId: string; result: TransitionOk } | { ok: false; refusal: Refusal }> {
  const policy = input.policy ?? (await loadPolicy(em, input.tenantId));
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
  if (!result.ok) return result;
  const f = input.fields;
  const [row] = await sqlIn(em)<{ id: string }>(
    `insert into users (id, tenant_id, user_name, external_id, first_name, last_name, display_name, email, emails, phone,
        phone_numbers, extension, department, role, title, employee_number, cost_center, organization, division,
        manager_id, termination_date, scim_extra, status, disabled_by, idp_active, password_hash, failed_login_count,
        status_changed_at, version, created_at, updated_at)
     values (gen_random_uuid(), ?, ?, ?, ?, ?, ?, ?, ?::jsonb, ?, ?::jsonb, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?::jsonb, ?, ?, ?, ?, 0,
        now(), 1, now(), now())
     returning id`,
    [
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
    ],
  );
  const userId = row!.id;
  const context: ApplyEventInput = { tenantId: input.tenantId, userId, event: { type: 'create', source: input.source }, actor: input.actor };
  for (const effect of result.effects) {
    if (effect.type === 'send_welcome_email') await queueMail(em, context, 'welcome');
    // set_password: the hash went in with the row.
  }
  await sqlIn(em)(
    `insert into audit_entries (tenant_id, at, actor, action, user_id, details) values (?, now(), ?, 'user.create', ?, ?::jsonb)`,
    [
      input.tenantId,
      input.actor,
      userId,
      JSON.stringify({ to: result.status, source: input.source, effects: result.effects.map((e) => e.type), ...input.details }),
    ],
  );
  return { ok: true, userId, result };
}
