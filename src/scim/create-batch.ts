import { createBatcher, type Batcher } from '../store/batcher.ts';
import type { Orm } from '../store/orm.ts';
import { insertScimUsers, type ScimCreateOutcome, type ScimUserCreate } from '../store/scim-users.ts';

/**
 * SCIM creates that arrive while earlier ones are at the database go out together as one
 * autocommit statement (insertScimUsers): one round trip and one commit for the lot, which is most
 * of what a create costs (bench/scim.ts). Nothing waits for a timer: while fewer than
 * `maxInFlight` statements are out, a create goes at once. If a shared statement fails (say one
 * userName is taken) nothing of it was written, and each of its creates runs alone, so every
 * request gets its own answer.
 */
export function createUserInserter(orm: Orm, maxInFlight = 4, maxBatch = 50): Batcher<ScimUserCreate, ScimCreateOutcome> {
  return createBatcher({
    maxInFlight,
    maxBatch,
    runBatch: (creates) => insertScimUsers(orm.em.fork(), creates),
    runOne: async (create) => (await insertScimUsers(orm.em.fork(), [create]))[0]!,
  });
}
