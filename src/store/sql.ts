import type { EntityManager } from '@mikro-orm/postgresql';

/**
 * Raw SQL inside the caller's transaction (knex `?` placeholders). For set-based statements the
 * ORM has no words for: guarded state moves, bulk updates, INSERT ... SELECT.
 */
export function sqlIn(em: EntityManager) {
  const conn = em.getConnection();
  const ctx = em.getTransactionContext();
  return <T = unknown>(query: string, params: unknown[] = []) => conn.execute<T[]>(query, params, 'all', ctx);
}

/**
 * A PostgreSQL array literal for `?::uuid[]` / `?::text[]`. knex expands a JS array binding into a
 * comma list, which `= any(?)` cannot take; one literal string keeps it a single parameter.
 */
export function pgArray(values: readonly string[]): string {
  return `{${values.map((v) => `"${v.replace(/(["\\])/g, '\\$1')}"`).join(',')}}`;
}
