import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { MikroORM, type Options } from '@mikro-orm/postgresql';
import { Migrator } from '@mikro-orm/migrations';
import type { Logger } from '../log.ts';
import { ENTITIES } from './entities/index.ts';
import { MIGRATIONS } from './migrations/index.ts';

export type Orm = MikroORM;
export type { EntityManager } from '@mikro-orm/postgresql';

const migrationsDir = path.join(path.dirname(fileURLToPath(import.meta.url)), 'migrations');

export interface OrmOptions {
  databaseUrl: string;
  logger?: Logger;
  poolMax?: number;
}

export function ormConfig({ databaseUrl, logger, poolMax = 20 }: OrmOptions): Options {
  return {
    clientUrl: databaseUrl,
    entities: ENTITIES,
    // Entities are EntitySchema definitions: no decorators, no reflection, nothing to discover.
    discovery: { disableDynamicFileAccess: true, requireEntitiesArray: true },
    pool: { min: 0, max: poolMax },
    forceUtcTimezone: true,
    extensions: [Migrator],
    migrations: {
      tableName: 'mikro_orm_migrations',
      path: migrationsDir,
      pathTs: migrationsDir,
      migrationsList: MIGRATIONS,
      transactional: true,
      allOrNothing: true,
      emit: 'ts',
      snapshot: false,
    },
    debug: false,
    logger: (message) => logger?.debug({ orm: message }),
    // knex writes its warnings (a connection lost) with console.log unless given a logger: into
    // the structured log instead, where redaction applies.
    driverOptions: {
      log: {
        warn: (message: unknown) => logger?.warn({ knex: String(message) }, 'database driver warning'),
        error: (message: unknown) => logger?.error({ knex: String(message) }, 'database driver error'),
        deprecate: (message: unknown) => logger?.debug({ knex: String(message) }, 'database driver deprecation'),
        debug: (message: unknown) => logger?.debug({ knex: String(message) }),
      },
    },
  };
}

export async function openOrm(options: OrmOptions): Promise<Orm> {
  return MikroORM.init(ormConfig(options));
}

/** Any constant works; it only has to be the same in every turnover process. */
const MIGRATION_LOCK_KEY = 0x7475726e; // 'turn'

/**
 * Applies every pending migration. `serve` and `worker` may start at the same moment and the
 * MikroORM migrator has no lock of its own, so a session advisory lock on a dedicated connection
 * makes the second process wait and then find nothing to do.
 */
export async function migrate(orm: Orm, databaseUrl: string): Promise<string[]> {
  const lock = new pg.Client({ connectionString: databaseUrl });
  await lock.connect();
  try {
    await lock.query('select pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    const applied = await orm.getMigrator().up();
    return applied.map((m) => m.name);
  } finally {
    await lock.query('select pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]).catch(() => undefined);
    await lock.end();
  }
}

/**
 * Migrations this code knows of that the database has not recorded: one read of the migrations
 * table, so a command that finds the schema current need not run the migrator (its lock, its
 * table check, its list diff). A database with no migrations table yet has every one pending.
 */
export async function pendingMigrations(orm: Orm): Promise<string[]> {
  const rows = await orm.em
    .getConnection()
    .execute<Array<{ name: string }>>(`select name from mikro_orm_migrations`)
    .catch((error: unknown) => {
      // undefined_table: a database nothing has migrated yet.
      if ((error as { code?: string }).code === '42P01') return [];
      throw error;
    });
  const recorded = new Set(rows.map((row) => row.name));
  return MIGRATIONS.map((m) => m.name).filter((name) => !recorded.has(name));
}

/** The readiness check: the database answers a statement on a pooled connection. */
export async function pingDatabase(orm: Orm): Promise<void> {
  await orm.em.getConnection().execute('select 1');
}
