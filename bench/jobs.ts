/**
 * 10,000 reset tasks in one operation: time from the commit of the task rows (the outbox) to the
 * last task succeeded, and tasks per second, on each queue backend, with the tasks committed per
 * transaction (group commit, src/queue/run-task.ts). Everything is real: relay, BullMQ workers,
 * PostgreSQL transactions.
 *
 * Run: npm run bench:jobs [-- count]   (DATABASE_URL or an embedded PostgreSQL; Redis from
 * REDIS_URL, else 127.0.0.1:6379 when it answers, else PostgreSQL backend only;
 * BENCH_BACKEND=redis|postgres for one of them; LIFECYCLE_CONCURRENCY to try another batch bound)
 * Target: under 10 s on Redis and under 20 s on the PostgreSQL backend, 2 cores.
 * Measured on this 2-core machine, defaults: PostgreSQL 11.2-11.6 s, Redis 6.0-6.7 s.
 */
import net from 'node:net';
import os from 'node:os';
import { loadConfig } from '../src/config.ts';
import { createLogger } from '../src/log.ts';
import { taskBatchSize } from '../src/metrics.ts';
import { benchServer, openBench } from './support.ts';

const count = Number(process.argv[2] ?? 10_000);
// The default unless LIFECYCLE_CONCURRENCY is set: what an operator gets out of the box.
const concurrency = loadConfig(process.env).lifecycleConcurrency;
const logger = createLogger('warn');

async function redisAvailable(url: string): Promise<boolean> {
  const u = new URL(url);
  return new Promise((resolve) => {
    const s = net.connect(Number(u.port || 6379), u.hostname, () => {
      s.end();
      resolve(true);
    });
    s.on('error', () => resolve(false));
  });
}


/** Tasks committed so far and the transactions they took (the group-commit histogram). */
async function batches(): Promise<{ tasks: number; transactions: number }> {
  const { values } = await taskBatchSize.get();
  const of = (name: string) => values.find((v) => v.metricName === name)?.value ?? 0;
  return { tasks: of('turnover_task_batch_size_sum'), transactions: of('turnover_task_batch_size_count') };
}

async function run(backend: 'postgres' | 'redis', serverUrl: string, redisUrl: string | undefined) {
  const { client, tenantId, close } = await openBench(
    serverUrl,
    backend,
    { REDIS_URL: redisUrl, LIFECYCLE_CONCURRENCY: String(concurrency) },
    { api: false, relay: true, workers: true },
    logger,
  );
  try {
    // Users with something for a reset to clear: a voicemail, a custom contact, a number, an app.
    await client.query(
      `insert into users (id, tenant_id, user_name, first_name, last_name, email, extension, status, password_hash, status_changed_at)
       select gen_random_uuid(), $1, 'bench.' || g || '@example.org', 'Bench', 'User ' || g, 'bench.' || g || '@example.org', (10000 + g)::text, 'active', 'x', now()
         from generate_series(1, $2) g`,
      [tenantId, count],
    );
    await client.query(
      `insert into user_data (id, tenant_id, user_id, kind, payload)
       select gen_random_uuid(), tenant_id, id, k, '{}' from users, unnest(array['voicemail_message', 'custom_contact']) k`,
    );
    await client.query(
      `insert into phone_numbers (id, tenant_id, number, state, user_id, assigned_at)
       select gen_random_uuid(), tenant_id, '+1555' || lpad(extension, 7, '0'), 'assigned', id, now() from users`,
    );
    const [{ id: operationId }] = (
      await client.query(`insert into operations (id, tenant_id, action, actor, total) values (gen_random_uuid(), $1, 'reset', 'bench', $2) returning id`, [
        tenantId,
        count,
      ])
    ).rows as [{ id: string }];
    await client.query('vacuum analyze');

    const before = await batches();
    const started = process.hrtime.bigint();
    await client.query(
      `insert into tasks (id, tenant_id, type, user_id, operation_id, payload, actor, run_at)
       select gen_random_uuid(), tenant_id, 'reset', id, $1, '{"options":{"voicemailMessages":true,"unassignPhoneNumber":true}}', 'bench', now() from users`,
      [operationId],
    );
    let done = 0;
    let failed = 0;
    while (done + failed < count) {
      // Every 100 ms: the count scans the operation's task rows, and polling must not be the load.
      await new Promise((r) => setTimeout(r, 100));
      const { rows } = await client.query(
        `select count(*) filter (where state = 'succeeded') as done, count(*) filter (where state = 'failed') as failed from tasks where operation_id = $1`,
        [operationId],
      );
      done = Number(rows[0].done);
      failed = Number(rows[0].failed);
    }
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const after = await batches();
    const { rows: check } = await client.query(
      `select count(*) filter (where status = 'setup_required') as reset, (select count(*) from phone_numbers where state = 'available') as freed from users`,
    );
    console.log(
      `${backend.padEnd(8)} ${count} resets in ${seconds.toFixed(2)} s = ${(count / seconds).toFixed(0)} tasks/s` +
        ` (concurrency ${concurrency}, failed ${failed}, users reset ${check[0].reset}, numbers freed ${check[0].freed},` +
        ` ${((after.tasks - before.tasks) / (after.transactions - before.transactions)).toFixed(1)} tasks per transaction)`,
    );
  } finally {
    await close();
  }
}

const { handle, cleanup } = await benchServer('jobs', logger);
console.log(`node ${process.version}, ${os.cpus().length} cpus, ${count} reset tasks per backend`);
try {
  // BENCH_BACKEND=redis|postgres runs one of them (for profiling); both by default.
  const only = process.env.BENCH_BACKEND;
  if (only !== 'redis') await run('postgres', handle.url, undefined);
  const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  if (only === 'postgres') {
    // skipped on request
  } else if (await redisAvailable(redisUrl)) await run('redis', handle.url, redisUrl);
  else console.log('redis    skipped: nothing answers at', redisUrl);
} finally {
  await cleanup();
}
