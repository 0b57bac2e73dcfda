/**
 * 10,000 reset tasks in one operation: time from the commit of the task rows (the outbox) to the
 * last task succeeded, and tasks per second, on each queue backend, with the tasks committed per
 * transaction (group commit, src/queue/run-task.ts). Everything is real: relay, BullMQ workers,
 * PostgreSQL transactions.
 *
 * With a count above 10,000 (`npm run bench:jobs -- 100000`), each backend also runs a confirmed
 * reset by selection through the admin API, as an operator would ("every user inactive for 90
 * days": POST /admin/operations with `selection` and dryRun, then with its confirmToken), of
 * 10,000 users and of `count` users, each in a fresh database, and prints the time from the
 * confirming request to the last task succeeded beside the dry run's, with their ratio. Target:
 * 100,000 within 10.5x of 10,000 (linear) on each backend. Measured once on this 2-core machine
 * under a load average of 10-13 (other benches running): PostgreSQL 10,000 in 1.6 + 84.5 s,
 * 100,000 in 7.1 + 416 s (4.92x: the small run suffered the load more); Redis 10,000 in
 * 0.4 + 19.5 s, 100,000 in 4.2 + 193.5 s (9.98x).
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
import { insertApiToken } from '../src/store/tokens.ts';
import type pg from 'pg';
import { benchServer, openBench } from './support.ts';

const count = Number(process.argv[2] ?? 10_000);
/** The outbox run's size, and the smaller of the two selection runs. */
const BASE = 10_000;
const outboxCount = Math.min(count, BASE);
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

/** `n` users with something for a reset to clear (a voicemail, a custom contact, a number), last active `idleDays` ago. */
async function addUsers(client: pg.Client, tenantId: string, n: number, idleDays: number, from = 0): Promise<void> {
  await client.query(
    `with u as (
       insert into users (id, tenant_id, user_name, first_name, last_name, email, extension, status, password_hash, last_signin_at, status_changed_at)
       select gen_random_uuid(), $1, 'bench.' || g || '@example.org', 'Bench', 'User ' || g, 'bench.' || g || '@example.org', (10000 + g)::text, 'active', 'x',
              now() - make_interval(days => $3), now() - make_interval(days => $3)
         from generate_series($4::int + 1, $4::int + $2) g
       returning id, tenant_id, extension
     ), data as (
       insert into user_data (id, tenant_id, user_id, kind, payload)
       select gen_random_uuid(), tenant_id, id, k, '{}' from u, unnest(array['voicemail_message', 'custom_contact']) k
     )
     insert into phone_numbers (id, tenant_id, number, state, user_id, assigned_at)
     select gen_random_uuid(), tenant_id, '+1555' || lpad(extension, 7, '0'), 'assigned', id, now() from u`,
    [tenantId, n, idleDays, from],
  );
}

/** Polls until the operation's tasks have all finished; returns how many failed. */
async function waitForTasks(client: pg.Client, operationId: string, total: number, everyMs: number): Promise<number> {
  for (;;) {
    await new Promise((r) => setTimeout(r, everyMs));
    const { rows } = await client.query(
      `select count(*) filter (where state = 'succeeded') as done, count(*) filter (where state = 'failed') as failed from tasks where operation_id = $1`,
      [operationId],
    );
    if (Number(rows[0].done) + Number(rows[0].failed) >= total) return Number(rows[0].failed);
  }
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
    await addUsers(client, tenantId, outboxCount, 0);
    const [{ id: operationId }] = (
      await client.query(`insert into operations (id, tenant_id, action, actor, total) values (gen_random_uuid(), $1, 'reset', 'bench', $2) returning id`, [
        tenantId,
        outboxCount,
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
    // Every 100 ms: the count scans the operation's task rows, and polling must not be the load.
    const failed = await waitForTasks(client, operationId, outboxCount, 100);
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const after = await batches();
    const { rows: check } = await client.query(
      `select count(*) filter (where status = 'setup_required') as reset, (select count(*) from phone_numbers where state = 'available') as freed from users`,
    );
    console.log(
      `${backend.padEnd(8)} ${outboxCount} resets in ${seconds.toFixed(2)} s = ${(outboxCount / seconds).toFixed(0)} tasks/s` +
        ` (concurrency ${concurrency}, failed ${failed}, users reset ${check[0].reset}, numbers freed ${check[0].freed},` +
        ` ${((after.tasks - before.tasks) / (after.transactions - before.transactions)).toFixed(1)} tasks per transaction)`,
    );
  } finally {
    await close();
  }
}

/**
 * A confirmed reset by selection of `n` idle users (a tenth as many recent ones stay out of it),
 * through the admin API: the dry run, then the confirming request, then until the last task
 * succeeded. Returns both times (seconds) and the check that exactly the idle users were reset.
 */
async function runSelection(backend: 'postgres' | 'redis', serverUrl: string, redisUrl: string | undefined, n: number) {
  const { runtime, client, tenantId, close } = await openBench(
    serverUrl,
    `${backend}_sel_${n}`,
    { REDIS_URL: redisUrl, LIFECYCLE_CONCURRENCY: String(concurrency) },
    { api: true, relay: true, workers: true },
    logger,
  );
  try {
    await addUsers(client, tenantId, n, 120);
    await addUsers(client, tenantId, n / 10, 1, n);
    await client.query('vacuum analyze');
    const em = runtime.orm.em.fork();
    const { token } = insertApiToken(em, { tenantId, kind: 'admin', role: 'admin', actor: 'bench' });
    await em.flush();
    const post = async (body: object) => {
      const res = await fetch(`${runtime.url}/admin/operations`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      const json = (await res.json()) as Record<string, unknown>;
      if (res.status >= 300) throw new Error(`POST /admin/operations answered ${res.status}: ${JSON.stringify(json)}`);
      return json;
    };
    const request = {
      action: 'reset',
      selection: { inactiveSince: new Date(Date.now() - 90 * 86_400_000).toISOString() },
      options: { voicemailMessages: true, unassignPhoneNumber: true },
    };
    const t0 = process.hrtime.bigint();
    const preview = await post({ ...request, dryRun: true });
    const t1 = process.hrtime.bigint();
    const accepted = await post({ ...request, confirm: preview.confirmToken });
    const failed = await waitForTasks(client, accepted.operationId as string, Number(accepted.total), 200);
    const t2 = process.hrtime.bigint();
    const { rows: check } = await client.query(
      `select count(*) filter (where status = 'setup_required') as reset, count(*) filter (where status = 'active') as active from users`,
    );
    return {
      dryRun: Number(t1 - t0) / 1e9,
      run: Number(t2 - t1) / 1e9,
      previewed: Number(preview.total),
      failed,
      reset: Number(check[0].reset),
      untouched: Number(check[0].active),
    };
  } finally {
    await close();
  }
}

/** The selection runs at 10,000 and at `count` on one backend, side by side, with their ratio. */
async function compareSelections(backend: 'postgres' | 'redis', serverUrl: string, redisUrl: string | undefined) {
  const small = await runSelection(backend, serverUrl, redisUrl, BASE);
  const large = await runSelection(backend, serverUrl, redisUrl, count);
  for (const [n, r] of [[BASE, small], [count, large]] as const) {
    console.log(
      `${backend.padEnd(8)} selection reset of ${n}: dry run ${r.dryRun.toFixed(2)} s, confirmed run ${r.run.toFixed(2)} s = ${(n / r.run).toFixed(0)} tasks/s` +
        ` (previewed ${r.previewed}, failed ${r.failed}, users reset ${r.reset}, recent users untouched ${r.untouched})`,
    );
  }
  const ratio = (large.dryRun + large.run) / (small.dryRun + small.run);
  const linear = count / BASE;
  console.log(
    `${backend.padEnd(8)} ${count} vs ${BASE} by selection: ${ratio.toFixed(2)}x the time for ${linear}x the users` +
      ` (run alone ${(large.run / small.run).toFixed(2)}x, dry run ${(large.dryRun / small.dryRun).toFixed(2)}x; target within ${(linear * 1.05).toFixed(1)}x)`,
  );
}

const { handle, cleanup } = await benchServer('jobs', logger);
console.log(`node ${process.version}, ${os.cpus().length} cpus, ${outboxCount} reset tasks per backend`);
try {
  // BENCH_BACKEND=redis|postgres runs one of them (for profiling); both by default.
  const only = process.env.BENCH_BACKEND;
  // With a count above BASE, each backend then runs the selection reset at BASE and at count.
  const bench = async (backend: 'postgres' | 'redis', redisUrl: string | undefined) => {
    await run(backend, handle.url, redisUrl);
    if (count > BASE) await compareSelections(backend, handle.url, redisUrl);
  };
  if (only !== 'redis') await bench('postgres', undefined);
  const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  if (only === 'postgres') {
    // skipped on request
  } else if (await redisAvailable(redisUrl)) await bench('redis', redisUrl);
  else console.log('redis    skipped: nothing answers at', redisUrl);
} finally {
  await cleanup();
}
