/**
 * What the console waits for with 100,000 users in the tenant: the API time of the user list's
 * first page and of a search (p50/p99 over HTTP, as the console calls them), and the gzipped size
 * of the console's initial JavaScript (what a browser downloads before the first screen).
 *
 * Run: npm run bench:console [-- users]   (DATABASE_URL or an embedded PostgreSQL; the console
 * must be built: npm run build:console)
 * Target: p99 under 100 ms for both, initial JavaScript under 300 kB gzipped.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { createLogger } from '../src/log.ts';
import { insertApiToken } from '../src/store/tokens.ts';
import { benchServer, openBench, percentiles } from './support.ts';

const count = Number(process.argv[2] ?? 100_000);
const runs = 200;
const logger = createLogger('warn');
const root = path.resolve(import.meta.dirname, '..');

async function initialJavaScript(): Promise<{ files: string[]; gzipBytes: number }> {
  const html = await fs.readFile(path.join(root, 'web/dist/index.html'), 'utf8');
  // Scripts and modulepreloads the page loads before anything else.
  const files = [...html.matchAll(/(?:src|href)="\/console\/(assets\/[^"]+\.js)"/g)].map((m) => m[1]!);
  let gzipBytes = 0;
  for (const file of files) gzipBytes += gzipSync(await fs.readFile(path.join(root, 'web/dist', file)), { level: 9 }).length;
  return { files, gzipBytes };
}

const { handle, cleanup } = await benchServer('console', logger);
const { runtime, client, tenantId, close } = await openBench(
  handle.url,
  'console',
  { DATA_DIR: await fs.mkdtemp(path.join(os.tmpdir(), 'turnover-bench-console-data-')) },
  { api: true, relay: false, workers: false },
  logger,
);
try {
  const first = ['Ada', 'Grace', 'Alan', 'Edsger', 'Barbara', 'Donald', 'Frances', 'Ken', 'Margaret', 'Niklaus'];
  const last = ['Lovelace', 'Hopper', 'Turing', 'Dijkstra', 'Liskov', 'Knuth', 'Allen', 'Thompson', 'Hamilton', 'Wirth'];
  await client.query(
    `insert into users (id, tenant_id, user_name, first_name, last_name, email, extension, department, status, status_changed_at, created_at)
     select gen_random_uuid(), $1, 'user' || g || '@example.org', ($3::text[])[1 + g % 10], ($4::text[])[1 + (g / 10) % 10] || ' ' || g,
            'user' || g || '@example.org', (100000 + g)::text, 'Dept ' || (g % 40), 'active', now(), now() - make_interval(secs => $2 - g)
       from generate_series(1, $2) g`,
    [tenantId, count, first, last],
  );
  await client.query('vacuum analyze users');
  const em = runtime.orm.em.fork();
  const { token } = insertApiToken(em, { tenantId, kind: 'admin', role: 'office_manager', actor: 'bench' });
  await em.flush();
  const get = async (query: string) => {
    const res = await fetch(`${runtime.url}/admin/users?${query}`, { headers: { authorization: `Bearer ${token}` } });
    if (res.status !== 200) throw new Error(`GET /admin/users?${query}: ${res.status} ${await res.text()}`);
    return res.json() as Promise<{ users: unknown[] }>;
  };
  const list = await percentiles(runs, () => get('limit=50'));
  // Selective and unselective searches: they take different paths (src/store/users.ts).
  const searches: Array<[string, { p50: number; p99: number }]> = [];
  for (const q of ['turing 77', 'lovelace', 'user4242', 'ad']) {
    searches.push([q, await percentiles(runs, () => get(`q=${encodeURIComponent(q)}&limit=50`))]);
  }
  const js = await initialJavaScript();
  const ms = (p: { p50: number; p99: number }) => `p50 ${p.p50.toFixed(1)} ms, p99 ${p.p99.toFixed(1)} ms`;
  console.log(`node ${process.version}, ${os.cpus().length} cpus, ${count} users in the tenant, ${runs} sequential requests each`);
  console.log(`GET /admin/users first page (50):  ${ms(list)}`);
  for (const [q, p] of searches) console.log(`GET /admin/users?q=${q}:`.padEnd(36) + ms(p));
  console.log(`initial JavaScript: ${(js.gzipBytes / 1024).toFixed(1)} kB gzipped (${js.files.join(', ')})`);
} finally {
  await close();
  await cleanup();
}
