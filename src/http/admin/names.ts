import type { EntityManager } from '@mikro-orm/postgresql';
import { z } from 'zod';
import { describeActors, findUserSummaries, type UserSummary } from '../../store/names.ts';

/** Who did it and to whom, by name: what the console shows beside an audit entry, a task or an operation. */
export const userSummarySchema = z
  .object({ name: z.string().nullable(), userName: z.string().nullable(), department: z.string().nullable() })
  .openapi('UserSummary');

export const namedFields = {
  /** The actor as a person reads it ("Ada Lovelace (ada)", `SCIM token "Okta"`); the raw actor when it no longer resolves. */
  actorName: z.string(),
  /** The user it concerns, by name; null when none, or when the user was purged. */
  user: userSummarySchema.nullable(),
};

/** Adds `actorName` and `user` to a page of items, in two queries at most. */
export async function withNames<T extends { actor: string; userId?: string | null }>(
  em: EntityManager,
  tenantId: string,
  items: T[],
): Promise<Array<T & { actorName: string; user: UserSummary | null }>> {
  const [actors, users] = await Promise.all([
    describeActors(em, tenantId, items.map((i) => i.actor)),
    findUserSummaries(em, tenantId, items.map((i) => i.userId ?? null)),
  ]);
  return items.map((item) => ({ ...item, actorName: actors[item.actor] ?? item.actor, user: (item.userId && users.get(item.userId)) || null }));
}
