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
 * comma list, which `= any(?)` cannot take; one literal string keeps it a single parameter. A null
 * is the array's NULL (unquoted), a string is always quoted.
 */
export function pgArray(values: readonly (string | null)[]): string {
  return `{${values.map((v) => (v === null ? 'NULL' : `"${v.replace(/(["\\])/g, '\\$1')}"`)).join(',')}}`;
}


/** An expression over the rows a statement reads from (a CTE, a recordset): store code only. */
export interface SqlExpression {
  readonly expression: string;
}
export const sqlExpression = (expression: string): SqlExpression => ({ expression });

/** A column of an `insert ... select` (insertSelect): its name, cast, and value when not given. */
export interface InsertColumn {
  column: string;
  cast: 'uuid' | 'text' | 'jsonb' | 'timestamptz' | 'int';
  default?: string;
}

/**
 * `insert into <table> (<every column of spec>) select <values> from <from>`: the one column list
 * and defaults of a table's set-based inserts, whether they run alone or as a CTE beside the change
 * that needs them. A value is a constant (bound, cast; jsonb stringified) or an expression over
 * `from`'s rows; a column left out takes its default, and one without a default must be given.
 * `spec` and `values` share their keys (the record's field names).
 */
export function insertSelect(table: string, spec: Record<string, InsertColumn>, values: Record<string, unknown>, from?: SqlFragment): SqlFragment {
  const params: unknown[] = [];
  const selects = Object.entries(spec).map(([key, { column, cast, default: fallback }]) => {
    const value = values[key];
    if (value === undefined) {
      if (fallback === undefined) throw new Error(`insert into ${table}: ${column} is required`);
      return fallback;
    }
    if (value !== null && typeof value === 'object' && 'expression' in value) return (value as SqlExpression).expression;
    params.push(value === null ? null : cast === 'jsonb' ? JSON.stringify(value) : value instanceof Date ? value.toISOString() : value);
    return `?::${cast}`;
  });
  return {
    sql: `insert into ${table} (${Object.values(spec).map((c) => c.column).join(', ')}) select ${selects.join(', ')}${from ? ` from ${from.sql}` : ''}`,
    params: [...params, ...(from?.params ?? [])],
  };
}

/** Like sqlIn, for a write whose row count is the answer (rows inserted, updated or deleted). */
export function sqlRun(em: EntityManager) {
  const conn = em.getConnection();
  const ctx = em.getTransactionContext();
  return async (query: string, params: unknown[] = []): Promise<number> =>
    Number((await conn.execute<{ affectedRows?: number }>(query, params, 'run', ctx)).affectedRows ?? 0);
}

/** Raw rows carry timestamps as text: these fields of the row as Date (null stays null). */
export function withDates<T extends object>(row: T, fields: readonly (keyof T)[]): T {
  const converted = { ...row };
  for (const field of fields) {
    const value = row[field] as unknown;
    if (value !== null && value !== undefined && !(value instanceof Date)) (converted as Record<keyof T, unknown>)[field] = new Date(value as string);
  }
  return converted;
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
