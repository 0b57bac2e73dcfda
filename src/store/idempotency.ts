import type { EntityManager } from '@mikro-orm/postgresql';
import { sqlIn } from './sql.ts';

/**
 * Storage of `Idempotency-Key` answers (the rules are in src/http/admin/idempotency.ts). A key is
 * claimed by inserting its row (unique per tenant, operator, route and key hash), so of two
 * concurrent requests exactly one runs; the other finds the claim and is told to wait. Each
 * statement commits on its own: a claim must be visible to other requests while its request runs.
 */
export const IDEMPOTENCY_KEY_TTL_HOURS = 24;

/**
 * A claim still without an answer after this long is taken to be abandoned (its process died
 * between claiming and answering) and may be claimed again: longer than any request runs.
 */
export const IDEMPOTENCY_CLAIM_MINUTES = 5;

/** Expired rows are deleted a bounded batch at a time, whenever a key is claimed. */
const SWEEP_BATCH = 100;

export interface IdempotencyScope {
  tenantId: string;
  actor: string;
  route: string;
  keyHash: string;
}

export type IdempotencyClaim =
  /** Ours: run the request, then complete or release the claim. */
  | { kind: 'claimed'; id: string }
  /** Answered already: replay this. */
  | { kind: 'replay'; status: number; body: string; location: string | null }
  /** The key was used with another request body. */
  | { kind: 'reused' }
  /** The key's first request is still running. */
  | { kind: 'in_use' };

export async function claimIdempotencyKey(em: EntityManager, scope: IdempotencyScope, requestHash: string): Promise<IdempotencyClaim> {
  const sql = sqlIn(em);
  await sql(
    `delete from idempotency_keys where id in (
       select id from idempotency_keys where created_at < now() - make_interval(hours => ?) limit ?)`,
    [IDEMPOTENCY_KEY_TTL_HOURS, SWEEP_BATCH],
  );
  // A few rounds at most: a stale row found in one round is deleted and claimed in the next.
  for (let round = 0; round < 3; round++) {
    const [claimed] = await sql<{ id: string }>(
      `insert into idempotency_keys (id, tenant_id, actor, route, key_hash, request_hash, created_at)
       values (gen_random_uuid(), ?, ?, ?, ?, ?, now())
       on conflict (tenant_id, actor, route, key_hash) do nothing returning id`,
      [scope.tenantId, scope.actor, scope.route, scope.keyHash, requestHash],
    );
    if (claimed) return { kind: 'claimed', id: claimed.id };

    const [row] = await sql<{ id: string; request_hash: string; status: number | null; response_body: string | null; response_location: string | null; stale: boolean }>(
      `select id, request_hash, status, response_body, response_location,
              (created_at < now() - make_interval(hours => ?)
               or (status is null and created_at < now() - make_interval(mins => ?))) as stale
         from idempotency_keys where tenant_id = ? and actor = ? and route = ? and key_hash = ?`,
      [IDEMPOTENCY_KEY_TTL_HOURS, IDEMPOTENCY_CLAIM_MINUTES, scope.tenantId, scope.actor, scope.route, scope.keyHash],
    );
    if (!row) continue; // released meanwhile: claim it
    if (row.stale) {
      await sql(`delete from idempotency_keys where id = ?`, [row.id]);
      continue;
    }
    if (row.request_hash !== requestHash) return { kind: 'reused' };
    if (row.status === null) return { kind: 'in_use' };
    return { kind: 'replay', status: row.status, body: row.response_body ?? '', location: row.response_location };
  }
  return { kind: 'in_use' };
}

/** Stores the answer of a claimed key. Guarded by the claim's id: a claim taken over as abandoned is not overwritten. */
export async function completeIdempotencyKey(em: EntityManager, id: string, answer: { status: number; body: string; location: string | null }): Promise<void> {
  await sqlIn(em)(
    `update idempotency_keys set status = ?, response_body = ?, response_location = ?, completed_at = now() where id = ? and status is null`,
    [answer.status, answer.body, answer.location, id],
  );
}

/** Gives a claimed key up (its request changed nothing): the key may be sent again, with any body. */
export async function releaseIdempotencyKey(em: EntityManager, id: string): Promise<void> {
  await sqlIn(em)(`delete from idempotency_keys where id = ? and status is null`, [id]);
}
