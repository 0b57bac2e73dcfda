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
});
