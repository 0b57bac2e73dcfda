/**
 * SCIM service provider under load, over HTTP with autocannon:
 * - POST /Users per second at 32 connections (an Entra-style create: name, emails, enterprise),
 *   and the same against scimmy-routers on an in-memory Map, the reference, in the same run;
 * - GET /Users?filter=userName eq "..." p50/p99 with 1,000 and with 100,000 users in the tenant;
 * - PATCH deactivate ({"op":"replace","value":{"active":false}}) per second at 32 connections;
 * - one POST /Bulk of 1,000 creates (the same bodies), in operations per second (BENCH_ONLY=bulk:
 *   this phase alone).
 * Each server runs in a child process of its own, so the load generator (this process) does not
 * share its event loop.
 *
 * Run: npm run bench:scim   (DATABASE_URL, else an embedded PostgreSQL; SECONDS=10 per phase)
 * Diagnosis: BENCH_CPU_PROF=<dir> writes each server's V8 CPU profile; BENCH_ASYNC_COMMIT=1 runs
 * the database with synchronous_commit off; BENCH_NO_WELCOME=1 creates without the welcome_email
 * outbox row; CONNECTIONS=<n> changes the 32; BENCH_ONLY=create stops after the creates. Neither
 * asynchronous commit nor leaving out the welcome row changed create throughput on the shared
 * 2-core development machine, and 1 connection gave nearly the throughput of 32 (56 vs 66/s, the
 * server half idle). BENCH_WAITS=1 samples pg_stat_activity during the creates: the sessions wait
 * on the client (ClientRead) almost all the time, so each create is bound by its round trips times
 * the loop latency of a loaded machine, over a pool of 10 connections (src/store/orm.ts); a pool
 * of 30 gave about 1.6x the creates in one trial.
 * It also prints the CPU each create costs the server and the embedded database (from /proc),
 * which a machine shared with other runs distorts much less than the rates. Creates were 8 round
 * trips (4.5 ms server + 2.7 ms database CPU each); as one statement with no token lookup, 2.1 +
 * 1.4 ms; with concurrent creates sharing a statement (src/scim/create-batch.ts), about 1.9 +
 * 0.7 ms, against the reference's 1.2 to 1.3 ms. The server process is then CPU bound; in its
 * profile SCIMMY's schema work (the reference's too), GC, the socket writes and pino-http
 * dominate. The trigram index and the welcome_email NOTIFY cost the statement little (EXPLAIN
 * ANALYZE), but the NOTIFY lock serialises commits (BENCH_WAITS: sessions on Lock:object).
 * Targets: filtered GET at 100k within 1.3x of its time at 1k; create throughput at least
 * 0.8x of the in-memory scimmy-routers reference.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import pg from 'pg';

const SECONDS = Number(process.env.SECONDS ?? 10);
const CONNECTIONS = Number(process.env.CONNECTIONS ?? 32);
const LOOKUP_CONNECTIONS = 8;
const SCRIPT = fileURLToPath(import.meta.url);
const CORE_USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
const REFERENCE_TOKEN = 'reference-token';

/** The body of one create; `n` makes it unique. */
function createBody(n: string): string {
  return JSON.stringify({
    schemas: [CORE_USER, ENTERPRISE],
    externalId: `ext-${n}`,
    userName: `bench.${n}@example.org`,
    active: true,
    displayName: `Bench ${n}`,
    name: { givenName: 'Bench', familyName: `User ${n}` },
    emails: [{ primary: true, type: 'work', value: `bench.${n}@example.org` }],
    [ENTERPRISE]: { department: 'Load', employeeNumber: n },
  });
}

// ---------------------------------------------------------------------------------------------
// Child process modes: `--serve <databaseUrl>` (turnover's API) and `--reference` (in memory).

async function serveTurnover(databaseUrl: string): Promise<void> {
  const { loadConfig } = await import('../src/config.ts');
  const { createLogger } = await import('../src/log.ts');
  const { startRuntime } = await import('../src/main.ts');
  const runtime = await startRuntime(
    loadConfig({ PORT: '0', HOST: '127.0.0.1', DATABASE_URL: databaseUrl, LOG_LEVEL: 'warn', QUEUE_PREFIX: `{bench-scim-${randomBytes(3).toString('hex')}}` }),
    // The API alone: the outbox rows the creates write are what is measured, not their delivery.
    { api: true, relay: false, workers: false },
    createLogger('warn'),
  );
  process.stdout.write(`READY ${runtime.url}\n`);
  process.on('SIGTERM', () => void runtime.stop().then(() => process.exit(0)));
}

/** scimmy-routers as its README shows it, with users in a Map: the cost of SCIM itself. */
async function serveReference(): Promise<void> {
  const { default: express } = await import('express');
  const { default: SCIMMYRouters, SCIMMY } = await import('scimmy-routers');
  type Stored = Record<string, any>;
  const users = new Map<string, Stored>();
  const byName = new Map<string, string>();
  SCIMMY.Resources.declare(
    SCIMMY.Resources.User.extend(SCIMMY.Schemas.EnterpriseUser, false)
      .ingress((resource, instance) => {
        const userName = String(instance.userName).toLowerCase();
        const taken = byName.get(userName);
        if (taken && taken !== resource.id) throw new SCIMMY.Types.Error(409, 'uniqueness', 'userName taken');
        const now = new Date();
        const id = resource.id ?? randomUUID();
        const before = users.get(id);
        if (resource.id && !before) throw new SCIMMY.Types.Error(404, null!, 'not found');
        const stored = { ...JSON.parse(JSON.stringify(instance)), id, meta: { created: before?.meta.created ?? now, lastModified: now } };
        users.set(id, stored);
        byName.set(userName, id);
        return stored as never;
      })
      .egress((resource) => {
        if (resource.id) {
          const found = users.get(resource.id);
          if (!found) throw new SCIMMY.Types.Error(404, null!, 'not found');
          return found as never;
        }
        return (resource.filter ? resource.filter.match([...users.values()]) : [...users.values()]) as never;
      })
      .degress((resource) => {
        users.delete(resource.id!);
      }),
  );
  const app = express();
  app.use(
    '/scim/v2',
    new SCIMMYRouters({
      type: 'bearer',
      handler: (req) => {
        if (req.get('authorization') !== `Bearer ${REFERENCE_TOKEN}`) throw new Error('bad token');
        return 'bench';
      },
    }),
  );
  const server = app.listen(0, '127.0.0.1', () => {
    const address = server.address() as { port: number };
    process.stdout.write(`READY http://127.0.0.1:${address.port}\n`);
  });
  process.on('SIGTERM', () => server.close(() => process.exit(0)));
}

// ---------------------------------------------------------------------------------------------
// The driver.

function child(args: string[]): Promise<{ url: string; process: ChildProcess }> {
  // BENCH_CPU_PROF=<dir>: each server writes a V8 CPU profile there when it stops.
  const profile = process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : [];
  const proc = spawn(process.execPath, [...profile, '--import', 'tsx', SCRIPT, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let out = '';
    proc.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const match = /READY (\S+)/.exec(out);
      if (match) resolve({ url: match[1]!, process: proc });
    });
    proc.on('exit', (code) => reject(new Error(`${args[0]} exited with ${code}`)));
  });
}

async function stop(proc: ChildProcess): Promise<void> {
  await new Promise<void>((resolve) => {
    proc.removeAllListeners('exit');
    proc.once('exit', () => resolve());
    proc.kill('SIGTERM');
  });
}

interface Figures {
  rps: number;
  p50: number;
  p99: number;
  ok: number;
  failed: number;
}

async function load(options: {
  url: string;
  token: string;
  connections: number;
  method: 'GET' | 'POST' | 'PATCH';
  /** The next request's path and body (called once per request). */
  next: () => { path: string; body?: string } | null;
  expect: number;
  amount?: number;
}): Promise<Figures> {
  let failed = 0;
  const result = await autocannon({
    url: options.url,
    connections: options.connections,
    ...(options.amount ? { amount: options.amount } : { duration: SECONDS }),
    requests: [
      {
        method: options.method,
        headers: { authorization: `Bearer ${options.token}`, 'content-type': 'application/scim+json' },
        setupRequest: (request) => {
          const next = options.next();
          if (!next) return null as never;
          return { ...request, path: next.path, ...(next.body === undefined ? {} : { body: next.body }) };
        },
        onResponse: (status) => {
          if (status !== options.expect) failed++;
        },
      },
    ],
  });
  return { rps: result.requests.average, p50: result.latency.p50, p99: result.latency.p99, ok: result.requests.total - failed, failed: failed + result.errors };
}

const line = (label: string, f: Figures) =>
  `${label.padEnd(44)} ${f.rps.toFixed(0).padStart(6)} req/s   p50 ${String(f.p50).padStart(4)} ms   p99 ${String(f.p99).padStart(4)} ms   (${f.ok} ok, ${f.failed} failed)`;

async function databaseServer(): Promise<{ url: string; cleanup: () => Promise<void>; pidFile?: string }> {
  if (process.env.DATABASE_URL) return { url: process.env.DATABASE_URL, cleanup: async () => {} };
  const { createLogger } = await import('../src/log.ts');
  const { startEmbeddedPostgres } = await import('../src/store/database.ts');
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'turnover-bench-scim-'));
  await fs.chmod(dir, 0o755);
  const handle = await startEmbeddedPostgres({ dir: path.join(dir, 'data'), database: 'postgres', logger: createLogger('warn') });
  return {
    url: handle.url,
    pidFile: path.join(dir, 'data', 'postmaster.pid'),
    cleanup: async () => {
      await handle.stop();
      await fs.rm(dir, { recursive: true, force: true });
    },
  };
}

const CLOCK_TICKS = Number(spawnSync('getconf', ['CLK_TCK']).stdout?.toString().trim()) || 100;

/** utime, stime, cutime, cstime of a process from /proc (Linux), in seconds; null elsewhere. */
async function procTimes(pid: number): Promise<number[] | null> {
  const stat = await fs.readFile(`/proc/${pid}/stat`, 'utf8').catch(() => null);
  // Fields after the command name, which may hold spaces: state is the 3rd field, utime the 14th.
  const fields = stat?.slice(stat.lastIndexOf(')') + 2).split(' ');
  return fields ? fields.slice(11, 15).map((f) => Number(f) / CLOCK_TICKS) : null;
}

/** CPU seconds a server process has used so far (NaN off Linux). */
async function cpuOf(pid: number): Promise<number> {
  const t = await procTimes(pid);
  return t ? t[0]! + t[1]! : NaN;
}

/**
 * CPU seconds an embedded PostgreSQL has used: the postmaster with the backends it reaped, plus
 * the live ones (the pool's connections). NaN for a DATABASE_URL server, which others may share.
 */
async function databaseCpu(pidFile: string | undefined): Promise<number> {
  const postmaster = pidFile ? Number((await fs.readFile(pidFile, 'utf8').catch(() => '')).split('\n')[0]) : NaN;
  const own = Number.isInteger(postmaster) ? await procTimes(postmaster) : null;
  if (!own) return NaN;
  let total = own.reduce((a, b) => a + b, 0);
  for (const entry of await fs.readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await fs.readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(fields[1]) === postmaster) total += (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  }
  return total;
}

/** A tenant with `count` users (inserted in SQL: the lookups are measured, not the loading) and a SCIM token. */
async function seedTenant(client: pg.Client, name: string, count: number): Promise<{ tenantId: string; token: string; userNames: string[] }> {
  const { generateToken, hashToken } = await import('../src/store/tokens.ts');
  const [{ id: tenantId }] = (await client.query(`insert into tenants (id, name, policy) values (gen_random_uuid(), $1, '{}') returning id`, [name])).rows as [{ id: string }];
  await client.query(
    `insert into users (id, tenant_id, user_name, external_id, first_name, last_name, display_name, email, emails, status, status_changed_at)
     select gen_random_uuid(), $1, $2 || '.' || g || '@example.org', $2 || '-' || g, 'Seed', 'User ' || g, 'Seed User ' || g,
            $2 || '.' || g || '@example.org', jsonb_build_array(jsonb_build_object('value', $2 || '.' || g || '@example.org', 'type', 'work', 'primary', true)),
            'password_required', now()
       from generate_series(1, $3) g`,
    [tenantId, name, count],
  );
  const token = generateToken('scim');
  await client.query(`insert into api_tokens (id, tenant_id, kind, token_hash, prefix) values (gen_random_uuid(), $1, 'scim', $2, $3)`, [tenantId, hashToken(token), token.slice(0, 16)]);
  const sample = Array.from({ length: 2000 }, () => `${name}.${1 + Math.floor(Math.random() * count)}@example.org`);
  return { tenantId, token, userNames: sample };
}

/**
 * One BulkRequest of 1,000 creates (an HR system's batch push), its operations run one after
 * another (src/scim/bulk.ts), timed end to end and checked: every operation 201.
 */
async function benchBulkCreates(turnoverUrl: string, client: pg.Client): Promise<string> {
  const OPERATIONS = 1000;
  const tenant = await seedTenant(client, 'bench-bulk', 0);
  const run = randomBytes(3).toString('hex');
  const body = JSON.stringify({
    schemas: ['urn:ietf:params:scim:api:messages:2.0:BulkRequest'],
    Operations: Array.from({ length: OPERATIONS }, (_v, i) => ({ method: 'POST', path: '/Users', bulkId: `u${i}`, data: JSON.parse(createBody(`bulk.${run}.${i}`)) })),
  });
  const started = performance.now();
  const response = await fetch(`${turnoverUrl}/scim/v2/Bulk`, { method: 'POST', headers: { authorization: `Bearer ${tenant.token}`, 'content-type': 'application/scim+json' }, body });
  const reply = (await response.json()) as { Operations?: Array<{ status: string }> };
  const seconds = (performance.now() - started) / 1000;
  const created = reply.Operations?.filter((o) => o.status === '201').length ?? 0;
  // Side by side: the same creates one request after another on one connection, as the bulk runs them.
  const SINGLES = 200;
  const singleStarted = performance.now();
  let singleCreated = 0;
  for (let i = 0; i < SINGLES; i++) {
    const single = await fetch(`${turnoverUrl}/scim/v2/Users`, { method: 'POST', headers: { authorization: `Bearer ${tenant.token}`, 'content-type': 'application/scim+json' }, body: createBody(`single.${run}.${i}`) });
    await single.arrayBuffer();
    if (single.status === 201) singleCreated++;
  }
  const singleRate = singleCreated / ((performance.now() - singleStarted) / 1000);
  return [
    `${`POST /Bulk, ${OPERATIONS} creates in one request`.padEnd(44)} ${(created / seconds).toFixed(0).padStart(6)} ops/s   ${seconds.toFixed(2)} s, ${(body.length / 1024).toFixed(0)} KiB   (HTTP ${response.status}, ${created} created)`,
    `${`POST /Users, ${SINGLES} one after another`.padEnd(44)} ${singleRate.toFixed(0).padStart(6)} req/s   (bulk ${(created / seconds / singleRate).toFixed(2)}x)`,
  ].join('\n');
}

async function main(): Promise<void> {
  const db = await databaseServer();
  const { ensureDatabase } = await import('../src/store/database.ts');
  const dbName = `turnover_bench_scim_${randomBytes(3).toString('hex')}`;
  const url = new URL(db.url);
  url.pathname = `/${dbName}`;
  await ensureDatabase(url.toString(), dbName);
  if (process.env.BENCH_ASYNC_COMMIT) {
    const admin = new pg.Client({ connectionString: url.toString() });
    await admin.connect();
    await admin.query(`alter database "${dbName}" set synchronous_commit = off`);
    await admin.end();
  }
  console.log(`node ${process.version}, ${os.cpus().length} cpus, ${SECONDS} s per phase, database ${process.env.DATABASE_URL ? 'DATABASE_URL' : 'embedded PostgreSQL'}`);

  const turnover = await child(['--serve', url.toString()]);
  const client = new pg.Client({ connectionString: url.toString() });
  await client.connect();
  try {
    if (process.env.BENCH_ONLY === 'bulk') {
      console.log(await benchBulkCreates(turnover.url, client));
      return;
    }
    // 1. Creates, turnover then the reference (each alone on the machine).
    const creator = await seedTenant(client, 'bench-create', 0);
    // BENCH_NO_WELCOME: creates without the welcome_email outbox row (and its NOTIFY), for diagnosis.
    if (process.env.BENCH_NO_WELCOME) await client.query(`update tenants set policy = '{"sendWelcomeOnScimCreate": false}' where id = $1`, [creator.tenantId]);
    let n = 0;
    const run = randomBytes(3).toString('hex');
    // BENCH_WAITS=1: what the database sessions wait on during the creates (sampled every 50 ms).
    const waits = new Map<string, number>();
    const sampler = process.env.BENCH_WAITS
      ? setInterval(() => {
          void client
            .query(`select coalesce(wait_event_type || ':' || wait_event, state) as w, count(*)::int as n from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid() group by 1`)
            .then(({ rows }) => rows.forEach((r: { w: string; n: number }) => waits.set(r.w, (waits.get(r.w) ?? 0) + r.n)));
        }, 50)
      : undefined;
    const cpuBefore = { server: await cpuOf(turnover.process.pid!), database: await databaseCpu(db.pidFile) };
    const createTurnover = await load({
      url: turnover.url,
      token: creator.token,
      connections: CONNECTIONS,
      method: 'POST',
      expect: 201,
      next: () => ({ path: '/scim/v2/Users', body: createBody(`${run}.${n++}`) }),
    });
    // CPU per create, which a busy shared machine distorts far less than the rates.
    const perCreate = (seconds: number, f: Figures) => `${((seconds * 1000) / Math.max(f.ok + f.failed, 1)).toFixed(2)} ms`;
    const turnoverCpu = perCreate((await cpuOf(turnover.process.pid!)) - cpuBefore.server, createTurnover);
    const databaseCpuText = perCreate((await databaseCpu(db.pidFile)) - cpuBefore.database, createTurnover);
    if (sampler) {
      clearInterval(sampler);
      console.log('database waits during creates (session samples):', JSON.stringify(Object.fromEntries([...waits].sort((a, b) => b[1] - a[1]))));
    }
    const reference = await child(['--reference']);
    let r = 0;
    const referenceBefore = await cpuOf(reference.process.pid!);
    const createReference = await load({
      url: reference.url,
      token: REFERENCE_TOKEN,
      connections: CONNECTIONS,
      method: 'POST',
      expect: 201,
      next: () => ({ path: '/scim/v2/Users', body: createBody(`${run}.${r++}`) }),
    });
    const referenceCpu = perCreate((await cpuOf(reference.process.pid!)) - referenceBefore, createReference);
    await stop(reference.process);
    const cpuLine = `CPU per create: turnover server ${turnoverCpu} + database ${databaseCpuText}; in-memory ref ${referenceCpu}`;
    if (process.env.BENCH_ONLY === 'create') {
      console.log(line('POST /Users (turnover)', createTurnover));
      console.log(line('POST /Users (in-memory ref)', createReference));
      console.log(cpuLine);
      return;
    }

    // 2. Okta's lookup, userName eq, with 1,000 and with 100,000 users in the tenant.
    const small = await seedTenant(client, 'bench-1k', 1_000);
    const large = await seedTenant(client, 'bench-100k', 100_000);
    await client.query('vacuum analyze');
    const lookup = (tenant: { token: string; userNames: string[] }) => {
      let i = 0;
      return load({
        url: turnover.url,
        token: tenant.token,
        connections: LOOKUP_CONNECTIONS,
        method: 'GET',
        expect: 200,
        next: () => ({ path: `/scim/v2/Users?filter=${encodeURIComponent(`userName eq "${tenant.userNames[i++ % tenant.userNames.length]}"`)}&startIndex=1&count=100` }),
      });
    };
    await lookup(small); // warm-up: plans cached, pool filled
    const get1k = await lookup(small);
    const get100k = await lookup(large);

    // 3. Deactivations, each of a different active user of the large tenant.
    const ids = (await client.query(`select id from users where tenant_id = $1 order by random() limit 50000`, [large.tenantId])).rows.map((row: { id: string }) => row.id);
    let d = 0;
    const deactivate = await load({
      url: turnover.url,
      token: large.token,
      connections: CONNECTIONS,
      method: 'PATCH',
      expect: 200,
      next: () =>
        d < ids.length
          ? { path: `/scim/v2/Users/${ids[d++]}`, body: JSON.stringify({ schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: 'replace', value: { active: false } }] }) }
          : null,
    });
    const [{ disabled }] = (await client.query(`select count(*)::int as disabled from users where tenant_id = $1 and status = 'disabled'`, [large.tenantId])).rows as [{ disabled: number }];

    // 4. One BulkRequest of 1,000 creates.
    const bulkLine = await benchBulkCreates(turnover.url, client);

    console.log(line(`POST /Users, ${CONNECTIONS} connections (turnover)`, createTurnover));
    console.log(line(`POST /Users, ${CONNECTIONS} connections (in-memory ref)`, createReference));
    console.log(cpuLine);
    console.log(line(`GET userName eq, 1,000 users, ${LOOKUP_CONNECTIONS} conn`, get1k));
    console.log(line(`GET userName eq, 100,000 users, ${LOOKUP_CONNECTIONS} conn`, get100k));
    console.log(line(`PATCH active=false, ${CONNECTIONS} connections`, deactivate) + `  users disabled: ${disabled}`);
    console.log(bulkLine);
    const createRatio = createTurnover.rps / createReference.rps;
    const p50Ratio = get100k.p50 / Math.max(get1k.p50, 1);
    const meanRatio = get1k.rps / get100k.rps;
    console.log(`create throughput vs in-memory scimmy-routers: ${createRatio.toFixed(2)}x (target >= 0.8x) ${createRatio >= 0.8 ? 'MET' : 'MISSED'}`);
    console.log(
      `filtered GET at 100k vs 1k: p50 ${p50Ratio.toFixed(2)}x, mean time ${meanRatio.toFixed(2)}x (target <= 1.3x) ${Math.max(p50Ratio, meanRatio) <= 1.3 ? 'MET' : 'MISSED'}`,
    );
  } finally {
    await client.end();
    await stop(turnover.process);
    await db.cleanup();
  }
}

const mode = process.argv[2];
if (mode === '--serve') await serveTurnover(process.argv[3]!);
else if (mode === '--reference') await serveReference();
else await main();
