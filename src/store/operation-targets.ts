import type { EntityManager } from '@mikro-orm/postgresql';
import { PURGED, type UserRole, type UserStatus } from '../lifecycle/statuses.ts';
import { sqlIn, sqlRun, type SqlFragment } from './sql.ts';
import { derivedLoginSql, userFilterSql, type UserFilter } from './users.ts';

/**
 * The users an operation's dry run resolved from a selection (the user list's filters), kept until
 * its confirmed run: that run acts on exactly these users, so one who matches only after the
 * preview (became inactive, joined the group) is not swept in. The only writer of
 * operation_targets. Rows are keyed by the hash of the dry run's confirm token; the run's tasks
 * are inserted straight from them (operationTargetsFrom), set-based whatever their number.
 */

/** Rows past their token's expiry are kept this long more, so a run confirmed at the last second still finds them. */
const SWEEP_GRACE = `interval '1 hour'`;

/**
 * Resolves `filter` now, in one INSERT ... SELECT, and keeps the users under `confirmTokenHash`;
 * rows of expired dry runs (every tenant's) go first. Returns how many users matched, or null when
 * more than `max` did (nothing is kept then).
 */
export async function insertOperationTargets(
  em: EntityManager,
  input: { tenantId: string; confirmTokenHash: string; expiresAt: Date; filter: UserFilter; max: number },
): Promise<number | null> {
  const run = sqlRun(em);
  await run(`delete from operation_targets where expires_at < now() - ${SWEEP_GRACE}`);
  const where = userFilterSql(input.tenantId, input.filter);
  const inserted = await run(
    `insert into operation_targets (confirm_token_hash, user_id, tenant_id, expires_at)
     select ?, users.id, users.tenant_id, ?::timestamptz from users where ${where.sql} limit ?`,
    [input.confirmTokenHash, input.expiresAt.toISOString(), ...where.params, input.max + 1],
  );
  if (inserted <= input.max) return inserted;
  await deleteOperationTargets(em, input.confirmTokenHash);
  return null;
}

/**
 * The users kept under a dry run's token, joined to their rows as they stand now (purged ones left
 * out): `from` for reading them, or for inserting one row per user (the run's tasks; `ot.user_id`).
 */
export function operationTargetsFrom(tenantId: string, confirmTokenHash: string): SqlFragment {
  return {
    sql: `operation_targets ot join users u on u.id = ot.user_id and u.tenant_id = ot.tenant_id
          where ot.confirm_token_hash = ? and ot.tenant_id = ? and u.status <> '${PURGED}'`,
    params: [confirmTokenHash, tenantId],
  };
}

/** Kept users alike in every field the lifecycle rules read, and how many of each: the dry run's counts. */
export interface TargetGroup {
  status: UserStatus;
  disabledBy: 'idp' | 'operator' | null;
  failedLoginCount: number;
  hasPassword: boolean;
  derivedLogin: boolean;
  count: number;
}

/** One GROUP BY over the kept users: what the transition needs to count outcomes for 100,000 users in a few rows. */
export async function countOperationTargetsByLifecycle(em: EntityManager, tenantId: string, confirmTokenHash: string): Promise<TargetGroup[]> {
  const from = operationTargetsFrom(tenantId, confirmTokenHash);
  const rows = await sqlIn(em)<Omit<TargetGroup, 'count'> & { count: string }>(
    `select u.status, u.disabled_by as "disabledBy", u.failed_login_count as "failedLoginCount",
            u.password_hash is not null as "hasPassword", ${derivedLoginSql('u')} as "derivedLogin", count(*) as count
       from ${from.sql}
      group by 1, 2, 3, 4, 5`,
    from.params,
  );
  return rows.map((r) => ({ ...r, failedLoginCount: Number(r.failedLoginCount), count: Number(r.count) }));
}

/**
 * Ids of kept users, in the user list's order (creation): the first `limit` (the dry run's sample),
 * or only those with `role` (the admins a run could take away, for the last-admin rule).
 */
export async function findOperationTargetIds(
  em: EntityManager,
  tenantId: string,
  confirmTokenHash: string,
  query: { limit?: number; role?: UserRole },
): Promise<string[]> {
  const from = operationTargetsFrom(tenantId, confirmTokenHash);
  const rows = await sqlIn(em)<{ id: string }>(
    `select ot.user_id as id from ${from.sql}${query.role ? ' and u.role = ?' : ''} order by u.created_at, u.id${query.limit !== undefined ? ' limit ?' : ''}`,
    [...from.params, ...(query.role ? [query.role] : []), ...(query.limit !== undefined ? [query.limit] : [])],
  );
  return rows.map((r) => r.id);
}

/** The kept users of a dry run, once its run has its tasks (or when nothing is kept after all). */
export async function deleteOperationTargets(em: EntityManager, confirmTokenHash: string): Promise<number> {
  return sqlRun(em)(`delete from operation_targets where confirm_token_hash = ?`, [confirmTokenHash]);
}
