import type { EntityManager } from '@mikro-orm/postgresql';
import { pgArray, sqlIn } from './sql.ts';

/** A user as a list names them: the Work inbox's and the audit trail's "who". */
export interface UserSummary {
  name: string | null;
  userName: string | null;
  department: string | null;
}

/** Users of the tenant by id, for a page of tasks or audit entries; a purged user has no name. */
export async function findUserSummaries(em: EntityManager, tenantId: string, ids: Iterable<string | null>): Promise<Map<string, UserSummary>> {
  const wanted = [...new Set([...ids].filter((id): id is string => typeof id === 'string'))];
  if (!wanted.length) return new Map();
  const rows = await sqlIn(em)<UserSummary & { id: string }>(
    `select id::text, ${PERSON_NAME} as name, user_name as "userName", department from users where tenant_id = ? and id = any(?::uuid[])`,
    [tenantId, pgArray(wanted)],
  );
  return new Map(rows.map(({ id, ...summary }) => [id, summary]));
}

/** "First Last", else the display name; over `users`. */
const PERSON_NAME = `coalesce(nullif(trim(concat_ws(' ', first_name, last_name)), ''), display_name)`;

/**
 * Audit and task actors (`operator:<user id>`, `user:<user id>`, `admin:<token id>`,
 * `scim:<token id>`, `cli`, `schedule`, `system`) as an operator reads them: a person's name and
 * login, a token's label. One query for a page of entries; an actor that no longer resolves (a
 * purged user) keeps its raw form.
 */
const FIXED: Record<string, string> = { cli: 'Command line', schedule: 'Schedule', system: 'turnover' };
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export async function describeActors(em: EntityManager, tenantId: string, actors: Iterable<string>): Promise<Record<string, string>> {
  const names: Record<string, string> = {};
  const userIds = new Set<string>();
  const tokenIds = new Set<string>();
  for (const actor of new Set(actors)) {
    if (FIXED[actor]) names[actor] = FIXED[actor];
    const [kind, id] = actor.split(':', 2) as [string, string | undefined];
    if (!id || !UUID.test(id)) continue;
    if (kind === 'operator' || kind === 'user') userIds.add(id);
    if (kind === 'admin' || kind === 'scim') tokenIds.add(id);
  }
  if (!userIds.size && !tokenIds.size) return names;
  const rows = await sqlIn(em)<{ kind: 'user' | 'token'; id: string; name: string | null; login: string | null }>(
    `select 'user' as kind, id::text, ${PERSON_NAME} as name, user_name as login
       from users where tenant_id = ? and id = any(?::uuid[])
     union all
     select 'token', id::text, label, prefix from api_tokens where tenant_id = ? and id = any(?::uuid[])`,
    [tenantId, pgArray([...userIds]), tenantId, pgArray([...tokenIds])],
  );
  const users = new Map(rows.filter((r) => r.kind === 'user').map((r) => [r.id, r]));
  const tokens = new Map(rows.filter((r) => r.kind === 'token').map((r) => [r.id, r]));
  for (const actor of new Set(actors)) {
    const [kind, id] = actor.split(':', 2) as [string, string | undefined];
    if (!id) continue;
    const user = users.get(id);
    if (user && (kind === 'operator' || kind === 'user')) {
      const person = user.name && user.login ? `${user.name} (${user.login})` : (user.name ?? user.login ?? 'a purged user');
      names[actor] = person;
    }
    const token = tokens.get(id);
    if (token && (kind === 'admin' || kind === 'scim')) {
      const what = kind === 'scim' ? 'SCIM token' : 'API token';
      names[actor] = token.name ? `${what} "${token.name}"` : `${what} ${token.login ?? id.slice(0, 8)}…`;
    }
  }
  return names;
}
