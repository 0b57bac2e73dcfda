import type { EntityManager } from '@mikro-orm/postgresql';
import { activeUsersWorthCounting, type DeprovisionGuard } from '../lifecycle/deprovision-guard.ts';
import type { StoredUserStatus } from '../lifecycle/statuses.ts';
import { pgArray, sqlIn } from './sql.ts';

/**
 * What the mass-deprovision guard (src/lifecycle/deprovision-guard.ts) reads: the IdP's
 * deprovisionings within the window and the users who can sign in. Its held work is `deprovision`
 * tasks with this reason (src/scim/idp-events.ts holds them, src/store/held-tasks.ts decides them).
 */
export const GUARD_REASON = 'deprovision_guard';

/** The statuses of a user who can still sign in: only their deprovisioning counts, and may be held. */
export const CAN_SIGN_IN: readonly StoredUserStatus[] = ['active', 'inactive', 'password_required'];

/**
 * Serialises the guard's decisions within a tenant (a transaction lock): parallel SCIM requests
 * count one after another, so a burst cannot slip past the limit together.
 */
export async function lockDeprovisionGuard(em: EntityManager, tenantId: string): Promise<void> {
  await sqlIn(em)(`select pg_advisory_xact_lock(hashtext('deprovision-guard:' || ?::text))`, [tenantId]);
}

/**
 * One round trip: the user's status (when asked), the IdP deprovisionings applied (audited as
 * changes) or held within the window, and the users who can sign in, counted only as far as the
 * decision needs.
 */
export async function countDeprovisionGuard(
  em: EntityManager,
  query: { tenantId: string; guard: DeprovisionGuard; userId?: string },
): Promise<{ status?: StoredUserStatus; recent: number; active: number }> {
  const { tenantId, guard, userId } = query;
  const [row] = await sqlIn(em)<{ status: StoredUserStatus | null; recent: string; active: string }>(
    `select
       ${userId ? '(select status from users where id = ?)' : 'null'} as status,
       (select count(*) from audit_entries
         where tenant_id = ? and at > now() - make_interval(mins => ?) and actor like 'scim:%'
           and action in ('user.scim_deactivate', 'user.scim_delete') and (details->>'changed')::boolean is true)
       + (select count(*) from tasks
           where tenant_id = ? and reason = ? and created_at > now() - make_interval(mins => ?)) as recent,
       (select count(*) from (select 1 from users where tenant_id = ? and status = any(?::text[]) limit ?) s) as active`,
    [
      ...(userId ? [userId] : []),
      tenantId,
      guard.windowMinutes,
      tenantId,
      GUARD_REASON,
      guard.windowMinutes,
      tenantId,
      pgArray(CAN_SIGN_IN),
      activeUsersWorthCounting(guard),
    ],
  );
  return { ...(row?.status ? { status: row.status } : {}), recent: Number(row!.recent), active: Number(row!.active) };
}

/** What the admins' alert says: the tenant's name, how much is held, and the admins to tell. */
export async function findGuardAlertFacts(em: EntityManager, tenantId: string): Promise<{ tenant: string; heldCount: number; admins: string[] } | null> {
  const [facts] = await sqlIn(em)<{ tenant: string; held: string; admins: string[] | null }>(
    `select t.name as tenant,
            (select count(*) from tasks where tenant_id = t.id and state = 'held' and reason = ?) as held,
            (select array_agg(distinct email order by email) from users
              where tenant_id = t.id and role = 'admin' and status in ('active', 'inactive') and email is not null) as admins
       from tenants t where t.id = ?`,
    [GUARD_REASON, tenantId],
  );
  return facts ? { tenant: facts.tenant, heldCount: Number(facts.held), admins: facts.admins ?? [] } : null;
}
