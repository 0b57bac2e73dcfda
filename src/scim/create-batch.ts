import type { Orm } from '../store/orm.ts';
import { createUsersWithLifecycle, type CreatedUser, type CreateUserInput, type RefusedCreate, type SkippedCreate } from '../store/user-lifecycle.ts';

export type CreateOutcome = CreatedUser | RefusedCreate | SkippedCreate;

interface Waiting {
  input: CreateUserInput & { returning: string };
  resolve(outcome: CreateOutcome): void;
  reject(error: unknown): void;
}

/**
 * SCIM creates that arrive while earlier ones are at the database go out together as one
 * autocommit statement (createUsersWithLifecycle): one round trip and one commit for the lot,
 * which is most of what a create costs (bench/scim.ts). Nothing waits for a timer: while fewer
 * than `maxInFlight` statements are out, a create goes at once. If a shared statement fails (say
 * one userName is taken) nothing of it was written, and each of its creates runs alone, so every
 * request gets its own answer.
 */
export function createBatcher(orm: Orm, maxInFlight = 4, maxBatch = 50): (input: CreateUserInput & { returning: string }) => Promise<CreateOutcome> {
  const queue: Waiting[] = [];
  let inFlight = 0;

  const run = async (batch: Waiting[]) => {
    try {
      const outcomes = await createUsersWithLifecycle(orm.em.fork(), batch.map((w) => w.input), batch[0]!.input.returning);
      batch.forEach((w, i) => w.resolve(outcomes[i]!));
    } catch (error) {
      if (batch.length === 1) return batch[0]!.reject(error);
      await Promise.all(
        batch.map((w) => createUsersWithLifecycle(orm.em.fork(), [w.input], w.input.returning).then(([outcome]) => w.resolve(outcome!), w.reject)),
      );
    }
  };
  const pump = () => {
    while (inFlight < maxInFlight && queue.length) {
      // One `returning` per statement: take the first create's, and the others that share it.
      const returning = queue[0]!.input.returning;
      const batch: Waiting[] = [];
      for (let i = 0; i < queue.length && batch.length < maxBatch; ) {
        if (queue[i]!.input.returning === returning) batch.push(...queue.splice(i, 1));
        else i++;
      }
      inFlight++;
      void run(batch).finally(() => {
        inFlight--;
        pump();
      });
    }
  };
  return (input) =>
    new Promise<CreateOutcome>((resolve, reject) => {
      queue.push({ input, resolve, reject });
      pump();
    });
}
