import { randomBytes } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import { DEFAULT_POLICY } from '../lifecycle/policy.ts';
import type { OperatorRole } from '../lifecycle/statuses.ts';
import { sqlIn } from './sql.ts';
import { hashToken } from './tokens.ts';

/**
 * Console sessions (operator_sessions). The plain id lives only in the operator's cookie; the
 * table holds its SHA-256. A session is valid while it is not revoked, not past its absolute end,
 * not idle longer than the tenant's sessionIdleMinutes, and its user is still an operator who may
 * sign in: demoting, banning, disabling or deleting the user ends it on the next request, even
 * before the lifecycle's revocation is written.
 */
export interface SessionOperator {
  sessionId: string;
  tenantId: string;
  tenantName: string;
  userId: string;
  userName: string;
  role: OperatorRole;
  firstName: string | null;
  lastName: string | null;
  /** The tenant's policy as stored (resolvePolicy gives the effective one). */
  policy: unknown;
}

const SESSION_PATTERN = /^[A-Za-z0-9_-]{43}$/;
/** Writing last_seen_at on every request costs a row version each time; once a minute is enough. */
const TOUCH_AFTER_SECONDS = 60;

export async function insertOperatorSession(
  em: EntityManager,
  input: { tenantId: string; userId: string; maxHours: number; userAgent?: string | null; address?: string | null },
): Promise<{ token: string; id: string }> {
  const token = randomBytes(32).toString('base64url');
  const [row] = await sqlIn(em)<{ id: string }>(
    `insert into operator_sessions (id, tenant_id, user_id, token_hash, created_at, last_seen_at, expires_at, user_agent, address)
     values (gen_random_uuid(), ?, ?, ?, now(), now(), now() + make_interval(hours => ?), ?, ?) returning id`,
    [input.tenantId, input.userId, hashToken(token), input.maxHours, input.userAgent?.slice(0, 300) ?? null, input.address ?? null],
  );
  return { token, id: row!.id };
}

/** The operator behind a live session, refreshing its idle clock; null when it is not live. */
export async function findLiveOperatorSession(em: EntityManager, token: string): Promise<SessionOperator | null> {
  if (!SESSION_PATTERN.test(token)) return null;
  const [row] = await sqlIn(em)<{
    id: string;
    tenant_id: string;
    tenant_name: string;
    user_id: string;
    user_name: string;
    role: OperatorRole;
    first_name: string | null;
    last_name: string | null;
    policy: unknown;
  }>(
    `with live as (
       select s.id, s.tenant_id, t.name as tenant_name, t.policy, u.id as user_id, u.user_name, u.role, u.first_name, u.last_name, s.last_seen_at
         from operator_sessions s
         join users u on u.id = s.user_id
         join tenants t on t.id = s.tenant_id
        where s.token_hash = ? and s.revoked_at is null and s.expires_at > now()
          and s.last_seen_at > now() - make_interval(mins => coalesce((t.policy->>'sessionIdleMinutes')::int, ?))
          and u.role in ('office_manager', 'admin') and u.status in ('active', 'inactive')
     ), touched as (
       update operator_sessions set last_seen_at = now()
        where id in (select id from live where last_seen_at < now() - make_interval(secs => ?))
     )
     select id, tenant_id, tenant_name, policy, user_id, user_name, role, first_name, last_name from live`,
    [hashToken(token), DEFAULT_POLICY.sessionIdleMinutes, TOUCH_AFTER_SECONDS],
  );
  if (!row) return null;
  return {
    sessionId: row.id,
    tenantId: row.tenant_id,
    tenantName: row.tenant_name,
    userId: row.user_id,
    userName: row.user_name,
    role: row.role,
    firstName: row.first_name,
    lastName: row.last_name,
    policy: row.policy,
  };
}

export async function revokeOperatorSession(em: EntityManager, sessionId: string): Promise<void> {
  await sqlIn(em)(`update operator_sessions set revoked_at = now() where id = ? and revoked_at is null`, [sessionId]);
}
