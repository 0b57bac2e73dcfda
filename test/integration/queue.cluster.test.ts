import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sharedLimitStores } from '../../src/http/rate-limit-store.ts';
import { loadConfig } from '../../src/config.ts';
import { freePort } from '../../src/store/database.ts';
import { runCli } from '../support/cli.ts';
import { createTestDatabase } from '../support/database.ts';
import { startService, waitFor200, type ServiceProcess } from '../support/process.ts';
import { redisClusterBinaries, startRedisCluster, type LocalRedisCluster } from '../support/redis-cluster.ts';

/**
 * The multi-machine deployment of the README's Scaling section, on one host: a Redis Cluster of 3
 * primaries and 3 replicas, two `turnover serve` and two `turnover worker` processes, one
 * PostgreSQL. A confirmed reset of 2,000 users runs through the admin API; mid-way the primary
 * that holds the queues' slot is killed (its replica takes over) and so is one worker. Every user
 * must end reset exactly once and the operation must fully succeed.
 */
const USERS = 2000;
const PREFIX = '{turnover}';
const available = redisClusterBinaries();
if (!available) console.warn('queue.cluster.test: skipped: redis-server and redis-cli are not on PATH (Debian: apt-get install redis-server)');

describe.skipIf(!available)('Redis Cluster with failover, two API and two worker processes', () => {
  let cluster: LocalRedisCluster;
  const services: ServiceProcess[] = [];
  beforeAll(async () => {
    cluster = await startRedisCluster({ primaries: 3, replicasEach: 1 });
  }, 60_000);
  afterAll(async () => {
    // Torn down whatever happened: every turnover process, then every Redis node.
    for (const s of services) if (s.child.exitCode === null && s.child.signalCode === null) s.child.kill('SIGKILL');
    await Promise.all(services.map((s) => s.exited));
    await cluster?.stop();
  }, 30_000);

  it(`resets each of ${USERS} users exactly once while the queues' primary fails over and a worker is killed`, async () => {
    const started = Date.now();
    const databaseUrl = await createTestDatabase('cluster');
    const env = {
      DATABASE_URL: databaseUrl,
      REDIS_URL: '',
      REDIS_CLUSTER_NODES: cluster.seeds,
      QUEUE_PREFIX: PREFIX,
      // A killed worker's jobs are taken over after this; long enough to outlast the failover.
      JOB_LOCK_MS: '5000',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
    };
    const spawnService = async (command: 'serve' | 'worker') => {
      const [port, workerPort] = [await freePort(), await freePort()];
      const service = startService(command, { ...env, PORT: String(port), WORKER_PORT: String(workerPort) });
      services.push(service);
      return { service, url: `http://127.0.0.1:${command === 'serve' ? port : workerPort}` };
    };
    // The first serve migrates (a no-op on the cloned database) and creates the default tenant.
    const apiA = await spawnService('serve');
    await waitFor200(`${apiA.url}/readyz`, 60_000, apiA.service);
    const rest = await Promise.all([spawnService('serve'), spawnService('worker'), spawnService('worker')]);
    const [apiB, workerA, workerB] = rest as [typeof apiA, typeof apiA, typeof apiA];
    await Promise.all(rest.map((s) => waitFor200(`${s.url}/readyz`, 60_000, s.service)));

    const db = new pg.Client({ connectionString: databaseUrl });
    await db.connect();
    try {
      const [{ id: tenantId }] = (await db.query(`select id from tenants where name = 'default'`)).rows as [{ id: string }];
      await db.query(
        `insert into users (id, tenant_id, user_name, first_name, last_name, extension, status, password_hash, status_changed_at)
         select gen_random_uuid(), $1, 'c' || g || '@example.org', 'C', 'User ' || g, (30000 + g)::text, 'active', 'x', now() from generate_series(1, $2) g`,
        [tenantId, USERS],
      );
      await db.query(`insert into user_data (id, tenant_id, user_id, kind, payload) select gen_random_uuid(), tenant_id, id, 'voicemail_message', '{}' from users`);
      const userIds = (await db.query(`select id from users`)).rows.map((r) => r.id as string);

      const token = (await runCli(['token', 'create', '--kind', 'admin', '--role', 'office_manager'], { DATABASE_URL: databaseUrl })).lastLine;
      const call = async (base: string, method: string, route: string, body?: unknown) => {
        const res = await fetch(`${base}${route}`, {
          method,
          headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
          ...(body ? { body: JSON.stringify(body) } : {}),
        });
        return { status: res.status, body: (await res.json()) as any };
      };

      // Dry run on one API process, confirmed on the other: both are one service.
      const request = { action: 'reset', userIds, options: { voicemailMessages: true } };
      const dry = await call(apiA.url, 'POST', '/admin/operations', { ...request, dryRun: true });
      expect(dry.status).toBe(200);
      expect(dry.body).toMatchObject({ total: USERS, allowed: USERS, refused: 0 });
      const run = await call(apiB.url, 'POST', '/admin/operations', { ...request, confirm: dry.body.confirmToken });
      expect(run.status).toBe(202);
      const operationId = run.body.operationId as string;
      const succeeded = async () => Number((await db.query(`select count(*) from tasks where operation_id = $1 and state = 'succeeded'`, [operationId])).rows[0].count);

      // Mid-way: the queues' primary dies without a goodbye, and so does one worker.
      for (let i = 0; i < 2400 && (await succeeded()) < USERS / 10; i++) await new Promise((r) => setTimeout(r, 25));
      const before = await cluster.ownerOf(PREFIX);
      // The jobs are on the cluster, on the primary that holds the prefix's slot.
      expect((await cluster.keysByPrimary()).get(before.primary)).toContain(`${PREFIX}:lifecycle:meta`);
      workerA.service.child.kill('SIGKILL');
      cluster.nodes.find((n) => n.port === before.primary)!.child.kill('SIGKILL');
      const succeededAtKill = await succeeded();
      const killedAt = Date.now();
      expect(succeededAtKill).toBeLessThan(USERS);

      // The replica takes the slot over.
      let after = before;
      while (after.primary === before.primary) {
        if (Date.now() - killedAt > 30_000) throw new Error('no replica took over the killed primary');
        await new Promise((r) => setTimeout(r, 200));
        after = await cluster.ownerOf(PREFIX).catch(() => before);
      }
      const failoverMs = Date.now() - killedAt;
      expect(before.replicas).toContain(after.primary);

      let progress: any;
      for (;;) {
        progress = (await call(apiA.url, 'GET', `/admin/operations/${operationId}`)).body;
        if (progress.state === 'completed') break;
        // The reconciler re-adds a job a failover lost after 30 s grace plus up to 30 s between passes.
        if (Date.now() - killedAt > 100_000) throw new Error(`the operation did not finish: ${JSON.stringify(progress.counts)}`);
        await new Promise((r) => setTimeout(r, 250));
      }
      expect(progress.counts).toMatchObject({ total: USERS, succeeded: USERS, failed: 0, cancelled: 0 });
      const resets = (await db.query(`select user_id, count(*)::int as n from audit_entries where action = 'user.reset' group by user_id`)).rows;
      expect(resets).toHaveLength(USERS);
      expect(resets.filter((r) => r.n !== 1)).toEqual([]);
      expect((await db.query(`select status, count(*)::int as n from users group by status`)).rows).toEqual([{ status: 'setup_required', n: USERS }]);
      expect((await db.query(`select count(*)::int as n from user_data where kind = 'voicemail_message'`)).rows[0].n).toBe(0);
      // The surviving processes stayed up and see the cluster again.
      for (const s of [apiA, apiB, workerB]) expect((await fetch(`${s.url}/readyz`)).status).toBe(200);
      expect(workerA.service.child.signalCode).toBe('SIGKILL');

      // Jobs BullMQ started more than once: taken over from the killed worker, or run again after the failover.
      const taskIds = (await db.query(`select id from tasks where operation_id = $1`, [operationId])).rows.map((r) => r.id as string);
      const redis = new Redis(after.primary, '127.0.0.1');
      const attempts = await redis.pipeline(taskIds.map((id) => ['hget', `${PREFIX}:lifecycle:${id}`, 'ats'])).exec();
      redis.disconnect();
      const restarted = attempts!.filter(([, ats]) => Number(ats) > 1).length;
      console.log(
        `queue.cluster: ${USERS} users reset, ${resets.length} reset audit entries (one each); killed primary :${before.primary} ` +
          `at ${succeededAtKill} succeeded, replica :${after.primary} took the slot over in ${failoverMs} ms; ` +
          `${restarted} jobs started more than once; finished ${Date.now() - killedAt} ms after the kill, ${Date.now() - started} ms in all`,
      );
    } finally {
      await db.end();
    }
  }, 240_000);

  it("shares the API processes' sign-in counters on the cluster, and keeps every key in the prefix's slot", async () => {
    // Runs after the failover: the counters' slot is the queues' slot, served by the promoted replica.
    const redisCluster = loadConfig({ REDIS_CLUSTER_NODES: cluster.nodes.filter((n) => n.child.exitCode === null && n.child.signalCode === null).map((n) => `127.0.0.1:${n.port}`).join(',') }).redisCluster!;
    const processes = [sharedLimitStores({ cluster: redisCluster }, PREFIX)!, sharedLimitStores({ cluster: redisCluster }, PREFIX)!];
    try {
      const stores = processes.map((p) => p.store('login-test'));
      for (const store of stores) store.init?.({ windowMs: 60_000 } as never);
      const hits = [];
      for (let i = 0; i < 4; i++) hits.push((await stores[i % 2]!.increment('198.51.100.7')).totalHits);
      expect(hits).toEqual([1, 2, 3, 4]);
    } finally {
      await Promise.all(processes.map((p) => p.close()));
    }
    // Every key turnover wrote (BullMQ's and the counters) is on the primary that holds the prefix's slot.
    const { primary } = await cluster.ownerOf(PREFIX);
    const keys = await cluster.keysByPrimary();
    expect(keys.get(primary)).toEqual(expect.arrayContaining([`${PREFIX}:lifecycle:meta`, `${PREFIX}:limit:login-test:198.51.100.7`]));
    expect(keys.get(primary)!.filter((k) => !k.startsWith(`${PREFIX}:`))).toEqual([]);
    expect([...keys].filter(([port, held]) => port !== primary && held.length > 0)).toEqual([]);
  }, 30_000);
});
