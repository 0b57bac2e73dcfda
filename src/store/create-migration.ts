/**
 * Development command (`npm run migration:create`): writes a migration for the difference between
 * the entities and the database named by DATABASE_URL (or the embedded one) after applying the
 * existing migrations. List the new file in migrations/index.ts.
 */
import { loadConfig } from '../config.ts';
import { createLogger } from '../log.ts';
import { provideDatabase } from './database.ts';
import { migrate, openOrm } from './orm.ts';

const config = loadConfig();
const logger = createLogger('warn', {}, 2);
const database = await provideDatabase(config, logger);
const orm = await openOrm({ databaseUrl: database.url, logger });
try {
  await migrate(orm, database.url);
  const result = await orm.getMigrator().createMigration();
  console.log(result.diff.up.length ? `wrote ${result.fileName}` : 'entities and migrations agree: nothing to write');
} finally {
  await orm.close(true);
  await database.stop();
}
