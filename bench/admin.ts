/**
 * The admin API at operator scale: a tenant of N users (default 10,000), timed over HTTP.
 * - GET /admin/users first page, a text search, and a page deep in the list (keyset paging)
 * - POST /admin/operations dry run of a reset of every user (the preview with per-user counts)
 * - the confirmed operation (one insert of N task rows) and GET /admin/operations/:id on it
 * Relay and workers are off: this measures the API, not the jobs (bench/jobs.ts does those).
 *
 * Run: npx tsx bench/admin.ts [count]   (DATABASE_URL or an embedded PostgreSQL)
 *
 * Measured (2026-11-28, 2 shared cores, embedded PostgreSQL, 10,000 users, before the trigram index): first page 64 ms,
 * search 107 ms (ILIKE over six columns: a sequential scan of the tenant, fine at this size; a
 * trigram index is the next step), mid-list page 19 ms (keyset), dry run of 10,000 resets 1.2 s,
 * the confirmed operation 1.6 s (one insert of 10,000 task rows), its progress view 0.3 s.
 */
import os from 'node:os';
import { createLogger } from '../src/log.ts';
import { benchServer, openBench } from './support.ts';
import { insertApiToken } from '../src/store/tokens.ts';

const count = Number(process.argv[2] ?? 10_000);
const logger = createLogger('warn');


/** Median of `runs` timings of `fn`, in milliseconds, and the last answer. */
async function time<T>(runs: number, fn: () => Promise<T>): Promise<{ ms: number; last: T }> {
  const times: number[] = [];
  let last!: T;
  for (let i = 0; i < runs; i++) {
    const started = performance.now();
    last = await fn();
    times.push(performance.now() - started);
  }
  times.sort((a, b) => a - b);
  return { ms: times[Math.floor(times.length / 2)]!, last };
}

const { handle, cleanup } = await benchServer('admin', logger);
const { runtime, client, tenantId, close } = await openBench(handle.url, 'admin', { DATA_DIR: os.tmpdir() }, { api: true, relay: false, workers: false }, logger);
try {
  await client.query(
    `insert into users (id, tenant_id, user_name, first_name, last_name, email, extension, status, password_hash, status_changed_at, created_at)
     select gen_random_uuid(), $1, 'bench.' || g || '@example.org', 'Bench', 'User ' || g, 'bench.' || g || '@example.org', (10000 + g)::text,
            'active', 'x', now(), now() + g * interval '1 millisecond'
       from generate_series(1, $2) g`,
    [tenantId, count],
  );
  await client.query(
    `insert into user_data (id, tenant_id, user_id, kind, payload)
     select gen_random_uuid(), tenant_id, id, k, '{}' from users, unnest(array['voicemail_message', 'custom_contact']) k`,
  );
  await client.query('analyze');
  const em = runtime.orm.em.fork();
  const { token } = insertApiToken(em, { tenantId, kind: 'admin', role: 'admin', actor: 'bench' });
  await em.flush();
  const call = async (method: string, route: string, body?: unknown) => {
    const res = await fetch(`${runtime.url}${route}`, {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    const json = (await res.json()) as any;
    if (res.status >= 400) throw new Error(`${method} ${route}: ${res.status} ${JSON.stringify(json)}`);
    return json;
  };

  const firstPage = await time(9, () => call('GET', '/admin/users?limit=50'));
  const search = await time(9, () => call('GET', '/admin/users?q=user%2019999&limit=50'));
  // Walk to the middle of the list once, then time that page.
  let cursor: string | null = firstPage.last.nextCursor;
  for (let i = 0; i < Math.floor(count / 200 / 2) && cursor; i++) cursor = (await call('GET', `/admin/users?limit=200&cursor=${cursor}`)).nextCursor;
  const deepPage = await time(9, () => call('GET', `/admin/users?limit=50&cursor=${cursor}`));

  const userIds = (await client.query(`select id from users where tenant_id = $1`, [tenantId])).rows.map((r: { id: string }) => r.id);
  const request = { action: 'reset', userIds, options: { voicemailMessages: true, customContacts: true } };
  const dryRun = await time(3, () => call('POST', '/admin/operations', { ...request, dryRun: true }));
  const run = await time(1, () => call('POST', '/admin/operations', { ...request, confirm: dryRun.last.confirmToken }));
  const progress = await time(5, () => call('GET', `/admin/operations/${run.last.operationId}`));

  console.log(`admin API, ${count} users (median ms)`);
  console.log(`  GET /admin/users first page        ${firstPage.ms.toFixed(1)}`);
  console.log(`  GET /admin/users?q= search          ${search.ms.toFixed(1)}`);
  console.log(`  GET /admin/users page mid-list      ${deepPage.ms.toFixed(1)}`);
  console.log(`  dry run: reset of ${count} users     ${dryRun.ms.toFixed(1)}`);
  console.log(`  confirmed: ${count} task rows        ${run.ms.toFixed(1)}`);
  console.log(`  GET /admin/operations/:id (${count}) ${progress.ms.toFixed(1)}`);
} finally {
  await close();
  await cleanup();
}
