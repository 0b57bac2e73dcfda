import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, inject } from 'vitest';

/**
 * A database of this test file's own, cloned from the migrated template (milliseconds, where
 * migrating takes a second). Dropped when the file's tests end.
 */
export async function createTestDatabase(label = 'test'): Promise<string> {
  const template = new URL(inject('templateDatabaseUrl'));
  const templateName = template.pathname.slice(1);
  const name = `turnover_${label.replace(/[^a-z0-9]/gi, '_').toLowerCase().slice(0, 30)}_${randomBytes(4).toString('hex')}`;
  const admin = new URL(template);
  admin.pathname = '/postgres';
  const client = new pg.Client({ connectionString: admin.toString() });
  await client.connect();
  try {
    // The template must have no open sessions while it is copied; retry briefly if a sibling file clones at the same moment.
    for (let attempt = 0; ; attempt++) {
      try {
        await client.query(`create database "${name}" template "${templateName}"`);
        break;
      } catch (error) {
        if ((error as { code?: string }).code !== '55006' || attempt > 50) throw error;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  } finally {
    await client.end();
  }
  afterAll(async () => {
    const c = new pg.Client({ connectionString: admin.toString() });
    await c.connect();
    await c.query(`drop database if exists "${name}" with (force)`).finally(() => c.end());
  });
  const url = new URL(template);
  url.pathname = `/${name}`;
  return url.toString();
}

/** Backends the queue tests run on: PostgreSQL always, Redis when the run has one. */
export function queueBackendsUnderTest(): Array<{ name: 'postgres' | 'redis'; redisUrl: string | undefined }> {
  const redisUrl = inject('redisUrl');
  return [{ name: 'postgres', redisUrl: undefined }, ...(redisUrl ? [{ name: 'redis' as const, redisUrl }] : [])];
}
