import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { ENV_VARIABLES, loadConfig } from '../../src/config.ts';
import { ROOT } from '../support/cli.ts';

/** No Docker engine runs here, so the compose file is kept honest by reading it. */
const compose = parse(fs.readFileSync(path.join(ROOT, 'docker-compose.yml'), 'utf8'), { merge: true });
type Service = { image?: string; build?: unknown; command?: string[]; environment?: Record<string, string>; healthcheck?: { test: string[] }; depends_on?: Record<string, unknown> };
const services = compose.services as Record<string, Service>;

describe('docker-compose.yml', () => {
  it('brings up postgres, redis, a mail sink, the API and the workers, each with a healthcheck', () => {
    expect(Object.keys(services).sort()).toEqual(['api', 'mailpit', 'postgres', 'redis', 'worker']);
    for (const [name, service] of Object.entries(services)) expect(service.healthcheck?.test, name).toBeDefined();
  });

  it('runs the API as `turnover serve` and the workers as `turnover worker`', () => {
    expect(services.api!.command).toEqual(['node', 'bin/turnover.js', 'serve']);
    expect(services.worker!.command).toEqual(['node', 'bin/turnover.js', 'worker']);
  });

  it.each(['api', 'worker'])('gives %s only variables turnover reads, and values it accepts', (name) => {
    const env = services[name]!.environment!;
    expect(Object.keys(env).filter((k) => !(ENV_VARIABLES as string[]).includes(k))).toEqual([]);
    const config = loadConfig(env);
    expect(new URL(config.databaseUrl!).hostname).toBe('postgres');
    expect(new URL(config.redisUrl!).hostname).toBe('redis');
    expect(new URL(config.smtpUrl!).hostname).toBe('mailpit');
    expect(Object.keys(services[name]!.depends_on!)).toEqual(['postgres', 'redis', 'mailpit']);
  });

  it("probes each process where it listens: the API on PORT, a worker on WORKER_PORT", () => {
    const probed = (name: string) => Number(/http:\/\/127\.0\.0\.1:(\d+)\//.exec(services[name]!.healthcheck!.test.join(' '))?.[1]);
    expect(probed('api')).toBe(loadConfig(services.api!.environment!).port);
    expect(probed('worker')).toBe(loadConfig(services.worker!.environment!).workerPort);
  });

  it('points DATABASE_URL at the database the postgres service creates', () => {
    const pgEnv = services.postgres!.environment!;
    const url = new URL(services.api!.environment!.DATABASE_URL!);
    expect([url.username, url.password, url.pathname.slice(1)]).toEqual([pgEnv.POSTGRES_USER, pgEnv.POSTGRES_PASSWORD, pgEnv.POSTGRES_DB]);
  });

  it('documents every variable in config/example.env, and example.env holds only valid values', () => {
    const example = fs.readFileSync(path.join(ROOT, 'config/example.env'), 'utf8');
    const entries = Object.fromEntries(
      example.split('\n').filter((l) => /^[A-Z_]+=/.test(l)).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
    );
    expect(Object.keys(entries).sort()).toEqual([...ENV_VARIABLES].sort());
    expect(() => loadConfig(entries)).not.toThrow();
  });

  it('pins every image to a release and starts turnover only once its dependencies are healthy', () => {
    for (const [name, service] of Object.entries(services)) {
      if (service.build) continue;
      // A release tag (PostgreSQL has two parts, 17.6): not `latest`, not a floating major like `redis:7`.
      expect(service.image, name).toMatch(/^[\w./-]+:v?\d+\.\d+(\.\d+)?(-[\w.]+)?$/);
    }
    for (const name of ['api', 'worker']) {
      expect(Object.values(services[name]!.depends_on!), name).toEqual(Array(3).fill({ condition: 'service_healthy' }));
    }
  });
});

describe('Dockerfile and .dockerignore', () => {
  const dockerfile = fs.readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8');
  const stages = dockerfile.split(/^FROM /m).slice(1);

  it('builds in one stage and runs compiled JavaScript with production dependencies only in the other', () => {
    expect(stages).toHaveLength(2);
    for (const stage of stages) expect(stage.split('\n')[0]).toMatch(/^node:\d+\.\d+\.\d+-/);
    expect(stages[0]).toMatch(/npm run build/);
    const runtime = stages[1]!;
    expect(runtime).toMatch(/npm ci --omit=dev/);
    expect(runtime).not.toMatch(/COPY (src|web) /);
    expect(runtime).toMatch(/COPY --from=build \/app\/build\/src \.\/src/);
    expect(runtime).toMatch(/COPY --from=build \/app\/web\/dist \.\/web\/dist/);
    expect(runtime).toMatch(/CMD \["node", "bin\/turnover\.js", "start"\]/);
  });

  it('keeps secrets, dependencies and history out of the build context', () => {
    const ignored = fs.readFileSync(path.join(ROOT, '.dockerignore'), 'utf8').split('\n').map((l) => l.trim());
    for (const entry of ['.git', 'node_modules', '.data', '.env', 'test']) expect(ignored, entry).toContain(entry);
  });
});
