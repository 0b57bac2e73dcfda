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

/** A piece of SQL (knex `?` placeholders) and its parameters, composed by this store's modules, never by their callers. */
export interface SqlFragment {
  sql: string;
  params: unknown[];
}

/**
 * A PostgreSQL array literal for `?::uuid[]` / `?::text[]`. knex expands a JS array binding into a
 * comma list, which `= any(?)` cannot take; one literal string keeps it a single parameter.
 */
export function pgArray(values: readonly string[]): string {
  return `{${values.map((v) => `"${v.replace(/(["\\])/g, '\\$1')}"`).join(',')}}`;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Whether `value` is a UUID, the only text a `uuid` column (every id) can be compared with. */
export function isUuid(value: unknown): value is string {
  return typeof value === 'string' && UUID.test(value);
}

/** The database's clock, which stamps check-ins and tasks: compare those with it, never with this process's clock. */
export async function findDatabaseNow(em: EntityManager): Promise<Date> {
  const [row] = await sqlIn(em)<{ now: Date | string }>(`select now() as now`);
  return new Date(row!.now);
}
