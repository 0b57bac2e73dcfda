import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { createTestDatabase } from '../support/database.ts';

/**
 * Every table that holds a tenant's data carries tenant_id, so the schema can be distributed by
 * tenant on a distributed PostgreSQL (Citus; README: Scaling) without reshaping a table. A new
 * table without the column fails here unless it is added below with the reason it is global.
 */
const GLOBAL_TABLES: Record<string, string> = {
  tenants: 'the tenants themselves (its id is what tenant_id points at): a Citus reference table',
  mikro_orm_migrations: 'which migrations ran: one list for the whole database',
};

describe('tenant columns of the migrated schema', () => {
  it('puts tenant_id (uuid, not null, a foreign key to tenants) on every table but the global ones', async () => {
    const db = new pg.Client({ connectionString: await createTestDatabase('tenant_columns') });
    await db.connect();
    try {
      // The public schema is the store; the bullmq schema is the PostgreSQL queue backend's, a cache of work.
      const { rows: tables } = await db.query<{ table_name: string }>(
        `select table_name from information_schema.tables where table_schema = 'public' and table_type = 'BASE TABLE' order by 1`,
      );
      const { rows: columns } = await db.query<{ table_name: string; data_type: string; is_nullable: string }>(
        `select table_name, data_type, is_nullable from information_schema.columns where table_schema = 'public' and column_name = 'tenant_id'`,
      );
      const { rows: foreignKeys } = await db.query<{ table_name: string }>(
        `select tc.table_name
           from information_schema.table_constraints tc
           join information_schema.key_column_usage k on k.constraint_name = tc.constraint_name and k.table_schema = tc.table_schema
           join information_schema.constraint_column_usage r on r.constraint_name = tc.constraint_name and r.table_schema = tc.table_schema
          where tc.table_schema = 'public' and tc.constraint_type = 'FOREIGN KEY'
            and k.column_name = 'tenant_id' and r.table_name = 'tenants' and r.column_name = 'id'`,
      );
      const tenantTables = tables.map((t) => t.table_name).filter((name) => !(name in GLOBAL_TABLES));
      // The exceptions are real tables (a renamed one must not hide here), and only they lack the column.
      expect(tables.map((t) => t.table_name)).toEqual(expect.arrayContaining(Object.keys(GLOBAL_TABLES)));
      expect(tenantTables).toEqual(expect.arrayContaining(['users', 'groups', 'group_memberships', 'tasks', 'audit_entries']));
      const byTable = new Map(columns.map((c) => [c.table_name, c]));
      expect(tenantTables.filter((name) => !byTable.has(name)), 'tables of tenant data without tenant_id').toEqual([]);
      expect(
        tenantTables.filter((name) => byTable.get(name)!.data_type !== 'uuid' || byTable.get(name)!.is_nullable !== 'NO'),
        'tenant_id that is not a uuid or may be null',
      ).toEqual([]);
      const withForeignKey = new Set(foreignKeys.map((f) => f.table_name));
      expect(tenantTables.filter((name) => !withForeignKey.has(name)), 'tenant_id without a foreign key to tenants').toEqual([]);
    } finally {
      await db.end();
    }
  });
});
