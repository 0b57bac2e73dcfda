import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { DEFAULT_TENANT_NAME, TaskSchema, TenantSchema, UserSchema } from '../../src/store/entities/index.ts';
import { ensureDatabase } from '../../src/store/database.ts';
import { migrate, openOrm } from '../../src/store/orm.ts';
import { ensureDefaultTenant } from '../../src/store/tenants.ts';

/** A truly empty database (not the migrated template) on the test server. */
async function emptyDatabase(): Promise<string> {
  const url = new URL(inject('templateDatabaseUrl'));
  url.pathname = `/turnover_empty_${randomBytes(4).toString('hex')}`;
  await ensureDatabase(url.toString(), url.pathname.slice(1));
  afterAll(async () => {
    const admin = new URL(url);
    admin.pathname = '/postgres';
    const c = new pg.Client({ connectionString: admin.toString() });
    await c.connect();
    await c.query(`drop database if exists "${url.pathname.slice(1)}" with (force)`).finally(() => c.end());
  });
  return url.toString();
}

describe('migrations', () => {
  it('build the whole schema from an empty database, then have nothing left to do', async () => {
    const url = await emptyDatabase();
    const orm = await openOrm({ databaseUrl: url });
    try {
      const first = await migrate(orm, url);
      expect(first.length).toBeGreaterThan(0);
      expect(await migrate(orm, url)).toEqual([]);

      const tables = await orm.em.getConnection().execute<{ table_name: string }[]>(
        `select table_name from information_schema.tables where table_schema = 'public' order by 1`,
      );
      expect(tables.map((t) => t.table_name)).toEqual(
        expect.arrayContaining([
          'api_tokens', 'audit_entries', 'devices', 'group_memberships', 'groups', 'operations',
          'password_links', 'phone_numbers', 'tasks', 'tenants', 'user_data', 'users',
        ]),
      );
      // The committed migration and the entity definitions describe the same schema.
      const drift = await orm.schema.getUpdateSchemaSQL({ wrap: false });
      expect(drift.trim()).toBe('');
    } finally {
      await orm.close(true);
    }
  });

  it('are safe when two processes start at once', async () => {
    const url = await emptyDatabase();
    const [a, b] = await Promise.all([openOrm({ databaseUrl: url }), openOrm({ databaseUrl: url })]);
    try {
      const [ranA, ranB] = await Promise.all([migrate(a, url), migrate(b, url)]);
      expect([ranA.length, ranB.length].sort()).toEqual([0, ranA.length + ranB.length]);
    } finally {
      await Promise.all([a.close(true), b.close(true)]);
    }
  });

  it('enforce the lookups and states SCIM relies on', async () => {
    const url = await emptyDatabase();
    const orm = await openOrm({ databaseUrl: url });
    try {
      await migrate(orm, url);
      const em = orm.em.fork();
      const tenant = await ensureDefaultTenant(em);
      expect((await ensureDefaultTenant(orm.em.fork())).id).toBe(tenant.id);
      expect(tenant.name).toBe(DEFAULT_TENANT_NAME);

      em.create(UserSchema, { tenantId: tenant.id, userName: 'Ada.Lovelace@example.org' });
      await em.flush();
      const dup = orm.em.fork();
      dup.create(UserSchema, { tenantId: tenant.id, userName: 'ada.lovelace@EXAMPLE.org' });
      await expect(dup.flush()).rejects.toMatchObject({ constraint: 'users_tenant_username_key' });

      const other = await orm.em.fork().getConnection().execute(`insert into tenants (id, name) values (gen_random_uuid(), 'other') returning id`);
      const elsewhere = orm.em.fork();
      elsewhere.create(UserSchema, { tenantId: (other[0] as { id: string }).id, userName: 'ada.lovelace@example.org' });
      await expect(elsewhere.flush()).resolves.toBeUndefined();

      const bad = orm.em.fork();
      bad.create(UserSchema, { tenantId: tenant.id, userName: 'x', status: 'retired' as never });
      await expect(bad.flush()).rejects.toMatchObject({ constraint: 'users_status_check' });

      const task = orm.em.fork();
      task.create(TaskSchema, { tenantId: tenant.id, type: 'deprovision', dedupeKey: 'termination:1' });
      task.create(TaskSchema, { tenantId: tenant.id, type: 'deprovision', dedupeKey: 'termination:1' });
      await expect(task.flush()).rejects.toMatchObject({ constraint: 'tasks_live_dedupe_key' });

      const plan = await orm.em.getConnection().execute<{ 'QUERY PLAN': string }[]>(
        `explain select id from users where tenant_id = ? and lower(user_name) = lower(?)`,
        [tenant.id, 'ADA.LOVELACE@example.org'],
      );
      expect(plan.map((r) => r['QUERY PLAN']).join('\n')).toContain('users_tenant_username_key');
      expect(await orm.em.fork().count(TenantSchema, {})).toBe(2);
    } finally {
      await orm.close(true);
    }
  });

  it('tell derived logins of existing users from explicit ones, and give seats reset before the placeholder', async () => {
    const url = await emptyDatabase();
    const orm = await openOrm({ databaseUrl: url });
    try {
      await orm.getMigrator().up({ to: 'Migration20261128030000_guard_count_indexes' });
      const sql = <T>(query: string, params: unknown[] = []) => orm.em.getConnection().execute<T[]>(query, params);
      const [tenant] = await sql<{ id: string }>(`insert into tenants (id, name) values (gen_random_uuid(), 'default') returning id`);
      const users: Record<string, string> = {};
      const add = async (key: string, source: 'admin' | 'scim', columns: { user_name: string; email: string | null; status?: string; external_id?: string }) => {
        const [row] = await sql<{ id: string }>(
          `insert into users (id, tenant_id, user_name, email, status, external_id, status_changed_at) values (gen_random_uuid(), ?, ?, ?, ?, ?, now()) returning id`,
          [tenant!.id, columns.user_name, columns.email, columns.status ?? 'active', columns.external_id ?? null],
        );
        users[key] = row!.id;
        await sql(`insert into audit_entries (tenant_id, at, actor, action, user_id, details) values (?, now(), 'test', 'user.create', ?, ?::jsonb)`, [
          tenant!.id,
          row!.id,
          JSON.stringify({ source }),
        ]);
      };
      await add('byEmail', 'admin', { user_name: 'Mal@acme.test', email: 'mal@acme.test' });
      await add('chosen', 'admin', { user_name: 'mal', email: 'mal2@acme.test' });
      await add('idp', 'scim', { user_name: 'jayne@acme.test', email: 'jayne@acme.test' });
      await add('linked', 'admin', { user_name: 'wash@acme.test', email: 'wash@acme.test', external_id: '00u1' });
      await add('resetSeat', 'admin', { user_name: 'zoe@acme.test', email: null, status: 'setup_required' });
      await add('resetDesk', 'admin', { user_name: 'front.desk', email: null, status: 'setup_required' });
      await migrate(orm, url);
      const rows = await sql<{ id: string; user_name: string; derived_user_name: string | null }>(`select id, user_name, derived_user_name from users`);
      const byKey = Object.fromEntries(Object.entries(users).map(([key, id]) => [key, rows.find((r) => r.id === id)!]));
      expect(Object.fromEntries(Object.entries(byKey).map(([key, r]) => [key, [r.user_name, r.derived_user_name]]))).toEqual({
        byEmail: ['Mal@acme.test', 'Mal@acme.test'],
        chosen: ['mal', null],
        idp: ['jayne@acme.test', null],
        linked: ['wash@acme.test', null],
        resetSeat: [`seat-${users.resetSeat}`, `seat-${users.resetSeat}`],
        resetDesk: ['front.desk', null],
      });
    } finally {
      await orm.close(true);
    }
  });
});
