import type { EntityManager } from '@mikro-orm/postgresql';
import type { TaskPayloads } from '../lifecycle/tasks.ts';
import { DEFAULT_ANSWERING_RULE } from '../lifecycle/reset-plan.ts';
import type { StoredUserStatus } from '../lifecycle/statuses.ts';
import type { Effect, TransitionOk } from '../lifecycle/transition.ts';
import { insertAuditEntriesSql } from './audit.ts';
import { pgArray, sqlExpression, sqlIn } from './sql.ts';
import { insertTasksSql } from './tasks.ts';

/** What one user's lifecycle change writes besides its effects: who, which row version, the audit. */
export interface UserWriteInput {
  tenantId: string;
  userId: string;
  /** The version the row was locked at; the update is guarded by it. */
  version: number;
  /** The status the row was locked in. */
  from: StoredUserStatus;
  actor: string;
  taskId: string | null;
  /** For `set_password`: the new hash (never the plain password). */
  passwordHash?: string;
  audit: { action: string; details: Record<string, unknown> };
}

/**
 * One user's write, split into what is the same for every user with the same change (the SQL and
 * its constant parameters: the shape) and what is this user's (one row of input). Users of one
 * shape are written by one set-based statement; that is what makes a batch of 64 resets cost about
 * what one costs in planning (bench/jobs.ts).
 */
export interface UserWrite {
  shape: string;
  /** CTEs after the input one, `$P$` standing for the name prefix; `x` rows are this shape's users. */
  ctes: string[];
  params: unknown[];
  row: InputRow;
}

interface InputRow {
  user_id: string;
  tenant_id: string;
  version: number;
  task_id: string | null;
  actor: string;
  details: Record<string, unknown>;
  /** Per-user column values, read by the assignments as `x.v->>'column'`. */
  v: Record<string, unknown>;
}

/**
 * The status change, every effect but the purge, and the audit entry, as data-modifying CTEs over
 * the users of one shape: one UPDATE of users, one statement per other table touched. PostgreSQL
 * runs all CTEs on one snapshot and a row must not be modified twice in one statement, which is why
 * effects are merged per table first (all user columns in one UPDATE, all token revocations in
 * one, ...) and why a statement holds each user once. Effects are idempotent: revoking what is
 * revoked or deleting what is gone is a no-op.
 */
export function planUserWrite(input: UserWriteInput, result: TransitionOk, effects: Effect[]): UserWrite {
  const values: Record<string, unknown> = {};
  // Column -> assignment; a column set by two effects (say clear_password and a reset) is written
  // once, by the later one, since PostgreSQL refuses two assignments to one column.
  const assignments = new Map<string, string>();
  /** A constant assignment (`column = <sql>`, the same for every user of the shape). */
  const setSql = (column: string, sql: string) => assignments.set(column, sql);
  /** This user's value for the column, with the cast the column needs. */
  const setValue = (column: string, value: unknown, cast: '' | '::int' | 'jsonb' = '') => {
    values[column] = value;
    assignments.set(column, cast === 'jsonb' ? `x.v->'${column}'` : `(x.v->>'${column}')${cast}`);
  };
  if (result.changed) {
    setValue('status', result.status);
    setValue('disabled_by', result.disabledBy);
    setValue('failed_login_count', result.failedLoginCount, '::int');
    if (result.status !== input.from) setSql('status_changed_at', 'now()');
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
        setSql('password_hash', 'null');
        break;
      case 'set_password':
        if (!input.passwordHash) throw new Error('set_password needs a password hash');
        setValue('password_hash', input.passwordHash);
        break;
      case 'record_activity':
        if (effect.via === 'checkin') setSql('last_checkin_at', 'now()');
        else setSql('last_signin_at', 'now()');
        break;
      case 'clear_reset_data': {
        // Always: the person (name, email), their password and PIN, soft phones and app sessions.
        for (const column of ['first_name', 'last_name', 'display_name', 'email', 'password_hash', 'pin_hash']) setSql(column, 'null');
        setSql('emails', `'[]'`);
        revokeKinds.add('device').add('other');
        deleteDeviceKinds.add('soft_phone');
        for (const kind of effect.plan.clearUserDataKinds) deleteDataKinds.add(kind);
        if (effect.plan.restoreDefaultAnsweringRule) restoreDefaultRule = true;
        if (effect.plan.unassignPhoneNumber) unassignNumber = true;
        if (effect.plan.removeDeviceLines) deleteAllDevices = true;
        break;
      }
      case 'assign_person':
        setValue('first_name', effect.firstName);
        setValue('last_name', effect.lastName);
        setValue('display_name', `${effect.firstName} ${effect.lastName}`);
        setValue('email', effect.email);
        setValue('emails', effect.email ? [{ value: effect.email, type: 'work', primary: true }] : [], 'jsonb');
        break;
      case 'assign_login':
        // The first candidate no other user of the tenant holds, else the last (unique by
        // construction); the same value is recorded as derived. Other rows are read on the
        // statement's snapshot: applyLifecycleEvent serialises the choices that can collide.
        values.user_name_candidates = effect.candidates;
        setSql(
          '(user_name, derived_user_name)',
          `(select n, n from (select coalesce(
              (select c.name from jsonb_array_elements_text(x.v->'user_name_candidates') with ordinality c(name, i)
                where not exists (select 1 from users o where o.tenant_id = x.tenant_id and lower(o.user_name) = lower(c.name) and o.id <> x.user_id)
                order by c.i limit 1),
              x.v->'user_name_candidates'->>-1) as n) login)`,
        );
        break;
      case 'purge_personal_data':
        break; // its own statements, after this one (see purgePersonalData)
      case 'send_welcome_email':
      case 'send_recovery_email':
        mail.push(effect.type === 'send_welcome_email' ? 'welcome' : 'recovery');
        break;
    }
  }

  const ctes: string[] = [];
  const params: unknown[] = [];
  const cte = (name: string, body: string, constants: unknown[] = []) => {
    ctes.push(`$P$${name} as (${body})`);
    params.push(...constants);
  };
  const users = `(select user_id from $P$x)`;
  // Only a changed row gets a new version; an unchanged one is still "touched" so the count of
  // `u` proves each row was there, locked, at the version read.
  const sets = [...assignments].map(([column, sql]) => `${column} = ${sql}`);
  cte(
    'u',
    sets.length
      ? `update users set ${sets.join(', ')}, version = users.version + 1, updated_at = now()
           from $P$x x where users.id = x.user_id and users.version = x.version returning users.id`
      : `select users.id from users join $P$x x on users.id = x.user_id and users.version = x.version`,
  );
  if (revokeKinds.size === 2) cte('tok', `update api_tokens set revoked_at = now() where user_id in ${users} and revoked_at is null returning 1`);
  else if (revokeKinds.size === 1) {
    const op = revokeKinds.has('device') ? '=' : '<>';
    cte('tok', `update api_tokens set revoked_at = now() where user_id in ${users} and kind ${op} 'device' and revoked_at is null returning 1`);
  }
  if (revokeKinds.has('other')) {
    // Console sign-ins are sessions too: a banned or deprovisioned operator is signed out at once.
    cte('ses', `update operator_sessions set revoked_at = now() where user_id in ${users} and revoked_at is null returning 1`);
  }
  if (expireLinks) {
    cte('lnk', `update password_links set expires_at = now() where user_id in ${users} and used_at is null and expires_at > now() returning 1`);
  }
  if (deleteAllDevices) cte('dev', `delete from devices where user_id in ${users} returning 1`);
  else if (deleteDeviceKinds.size) {
    cte('dev', `delete from devices where user_id in ${users} and kind = any(?::text[]) returning 1`, [pgArray([...deleteDeviceKinds])]);
  }
  if (clearHistory && !deleteAllDevices) {
    cte('hist', `update devices set clear_history = true where user_id in ${users} and removed_at is null and kind <> all(?::text[]) returning 1`, [
      pgArray([...deleteDeviceKinds]),
    ]);
  }
  if (deleteDataKinds.size) {
    cte('dat', `delete from user_data where user_id in ${users} and kind = any(?::text[]) returning 1`, [pgArray([...deleteDataKinds])]);
  }
  if (restoreDefaultRule) {
    // Same snapshot as the delete above, so the delete never sees (and removes) these new rows.
    cte(
      'rule',
      `insert into user_data (id, tenant_id, user_id, kind, payload) select gen_random_uuid(), x.tenant_id, x.user_id, 'answering_rule', ?::jsonb from $P$x x returning 1`,
      [JSON.stringify(DEFAULT_ANSWERING_RULE)],
    );
  }
  if (unassignNumber) {
    cte('num', `update phone_numbers set state = 'available', user_id = null, assigned_at = null where user_id in ${users} returning 1`);
  }
  const x = sqlExpression;
  mail.forEach((purpose, i) => {
    const insert = insertTasksSql(
      { tenantId: x('x.tenant_id'), userId: x('x.user_id'), type: 'welcome_email', payload: { purpose } satisfies TaskPayloads['welcome_email'], actor: x('x.actor') },
      { sql: '$P$x x', params: [] },
    );
    cte(`mail${i}`, `${insert.sql} returning 1`, insert.params);
  });
  const audit = insertAuditEntriesSql(
    { tenantId: x('x.tenant_id'), actor: x('x.actor'), action: input.audit.action, userId: x('x.user_id'), taskId: x('x.task_id'), details: x('x.details') },
    { sql: '$P$x x join $P$u u on u.id = x.user_id', params: [] },
  );
  cte('aud', `${audit.sql} returning 1`, audit.params);
  return {
    shape: `${ctes.join('\n')}\n${JSON.stringify(params)}`,
    ctes,
    params,
    row: {
      user_id: input.userId,
      tenant_id: input.tenantId,
      version: input.version,
      task_id: input.taskId,
      actor: input.actor,
      details: input.audit.details,
      v: values,
    },
  };
}

/**
 * Lifecycle writes of distinct users, run as ONE statement: the users of each shape through one
 * set of CTEs fed by a jsonb input, the shapes side by side. A user may appear once (PostgreSQL
 * would apply only one of two updates of a row in one statement); the count check below turns a
 * breach into an error that rolls the transaction back.
 */
export class LifecycleWrites {
  private readonly shapes = new Map<string, { write: UserWrite; rows: InputRow[] }>();
  private users = 0;

  add(write: UserWrite): this {
    const shape = this.shapes.get(write.shape) ?? this.shapes.set(write.shape, { write, rows: [] }).get(write.shape)!;
    shape.rows.push(write.row);
    this.users++;
    return this;
  }

  async run(em: EntityManager): Promise<void> {
    if (!this.users) return;
    const ctes: string[] = [];
    const params: unknown[] = [];
    const counts: string[] = [];
    [...this.shapes.values()].forEach(({ write, rows }, i) => {
      const p = `s${i}_`;
      ctes.push(
        `${p}x as (select * from jsonb_to_recordset(?::jsonb)
           as x(user_id uuid, tenant_id uuid, version int, task_id uuid, actor text, details jsonb, v jsonb))`,
        ...write.ctes.map((c) => c.replaceAll('$P$', p)),
      );
      params.push(JSON.stringify(rows), ...write.params);
      counts.push(`(select count(*) from ${p}u)`);
    });
    const [outcome] = await sqlIn(em)<{ user_rows: number }>(`with ${ctes.join(',\n')} select (${counts.join(' + ')})::int as user_rows`, params);
    // Every row was locked by this transaction at the version read, so this only fails if that
    // invariant is broken (or a user was added twice); the transaction then rolls back whole.
    if (Number(outcome?.user_rows) !== this.users) throw new Error('a user changed while locked');
    this.shapes.clear();
    this.users = 0;
  }
}
