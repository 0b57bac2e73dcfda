import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.ts';

describe('loadConfig', () => {
  it('applies the documented defaults to an empty environment', () => {
    const config = loadConfig({});
    expect(config.port).toBe(3000);
    expect(config.publicUrl).toBe('http://localhost:3000');
    expect(config.databaseUrl).toBeUndefined();
    expect(config.redisUrl).toBeUndefined();
    expect(config.smtpUrl).toBeUndefined();
    expect(config.logLevel).toBe('info');
    expect(config.queuePrefix).toBe('{turnover}');
  });

  it('treats empty variables as unset, as docker-compose and .env files produce them', () => {
    expect(loadConfig({ REDIS_URL: '', PORT: ' ' }).redisUrl).toBeUndefined();
    expect(loadConfig({ PORT: '' }).port).toBe(3000);
  });

  it.each([
    ['PORT', 'eighty', /^invalid PORT: .*\(got "eighty"\)$/],
    ['PORT', '70000', /^invalid PORT/],
    ['DATABASE_URL', 'mysql://x@y/z', /^invalid DATABASE_URL: must be a URL starting with postgres:\/\/ or postgresql:\/\//],
    ['REDIS_URL', 'localhost:6379', /^invalid REDIS_URL/],
    ['SMTP_URL', 'http://mail', /^invalid SMTP_URL/],
    ['PUBLIC_URL', 'example.com', /^invalid PUBLIC_URL/],
    ['LOG_LEVEL', 'loud', /^invalid LOG_LEVEL/],
    ['WORKER_CONCURRENCY', '0', /^invalid WORKER_CONCURRENCY/],
  ])('rejects %s=%s with one line naming the variable', (name, value, message) => {
    const load = () => loadConfig({ [name]: value });
    expect(load).toThrow(ConfigError);
    expect(load).toThrow(message);
    expect(errorOf(load)).not.toContain('\n');
  });

  it('never echoes a password from a URL in its error', () => {
    const message = errorOf(() => loadConfig({ SMTP_URL: 'ftp://user:hunter2@mail' }));
    expect(message).toContain('invalid SMTP_URL');
    expect(message).toContain('user:***@mail');
    expect(message).not.toContain('hunter2');
  });

  it('reads REDIS_CLUSTER_NODES as seed nodes, with credentials and TLS from the entries written as URLs', () => {
    expect(loadConfig({ REDIS_CLUSTER_NODES: '10.0.0.1:7000, 10.0.0.2:7001,[::1]:7002' }).redisCluster).toEqual({
      nodes: [{ host: '10.0.0.1', port: 7000 }, { host: '10.0.0.2', port: 7001 }, { host: '::1', port: 7002 }],
      tls: false,
    });
    expect(loadConfig({ REDIS_CLUSTER_NODES: 'rediss://app:s%40cret@r1.internal:6379,r2.internal:6379' }).redisCluster).toEqual({
      nodes: [{ host: 'r1.internal', port: 6379 }, { host: 'r2.internal', port: 6379 }],
      username: 'app',
      password: 's@cret',
      tls: true,
    });
    expect(loadConfig({ REDIS_CLUSTER_NODES: '' }).redisCluster).toBeUndefined();
  });

  it.each([
    [{ REDIS_CLUSTER_NODES: 'r1.internal' }, /^invalid REDIS_CLUSTER_NODES: r1.internal: every entry needs a host and a port/],
    [{ REDIS_CLUSTER_NODES: ' , ' }, /^invalid REDIS_CLUSTER_NODES: must list at least one host:port/],
    [{ REDIS_CLUSTER_NODES: 'http://r1:6379' }, /^invalid REDIS_CLUSTER_NODES: .*must start with redis:\/\/ or rediss:\/\//],
    [{ REDIS_CLUSTER_NODES: 'redis://r1:6379/2' }, /^invalid REDIS_CLUSTER_NODES: .*database 0 only/],
    [{ REDIS_CLUSTER_NODES: 'redis://:a@r1:6379,rediss://:a@r2:6379' }, /^invalid REDIS_CLUSTER_NODES: the entries written as URLs must agree/],
    [{ REDIS_CLUSTER_NODES: 'r1:6379', REDIS_URL: 'redis://r1:6379' }, /^invalid REDIS_CLUSTER_NODES: set REDIS_URL .* or REDIS_CLUSTER_NODES .*, not both$/],
    [{ REDIS_CLUSTER_NODES: 'r1:6379', QUEUE_PREFIX: 'turnover' }, /^invalid QUEUE_PREFIX: on a Redis Cluster it must hold a hash tag such as \{turnover\}/],
  ])('refuses a Redis Cluster configuration it cannot use: %o', (env, message) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(message);
  });

  it('never echoes a cluster password in its error', () => {
    const message = errorOf(() => loadConfig({ REDIS_CLUSTER_NODES: 'redis://:hunter2@r1:6379,redis://:hunter3@r2:6379' }));
    expect(message).toContain('invalid REDIS_CLUSTER_NODES');
    expect(message).toContain(':***@r1');
    expect(message).not.toMatch(/hunter/);
  });

  it("puts a worker's health listener on WORKER_PORT: PORT+1 by default, any free port with PORT=0, none with WORKER_PORT=0", () => {
    expect(loadConfig({}).workerPort).toBe(3001);
    expect(loadConfig({ PORT: '8080' }).workerPort).toBe(8081);
    expect(loadConfig({ PORT: '8080', WORKER_PORT: '9100' }).workerPort).toBe(9100);
    expect(loadConfig({ PORT: '0' }).workerPort).toBe(0);
    expect(loadConfig({ WORKER_PORT: '0' }).workerPort).toBeNull();
    expect(loadConfig({ WORKER_PORT: '' }).workerPort).toBe(3001);
    expect(() => loadConfig({ WORKER_PORT: 'x' })).toThrow(/^invalid WORKER_PORT: .*\(got "x"\)$/);
    expect(() => loadConfig({ PORT: '65535' })).toThrow(/^invalid WORKER_PORT: its default PORT\+1 is 65536, above 65535: set WORKER_PORT$/);
    expect(loadConfig({ PORT: '65535', WORKER_PORT: '0' }).workerPort).toBeNull();
  });

  it('tells whether the link address was set (PUBLIC_URL) or derived from PORT', () => {
    expect(loadConfig({ PORT: '4100' })).toMatchObject({ publicUrl: 'http://localhost:4100', publicUrlFromPort: true });
    expect(loadConfig({ PUBLIC_URL: 'https://id.example.org' }).publicUrlFromPort).toBe(false);
  });

  it('strips a trailing slash from PUBLIC_URL so links join cleanly', () => {
    expect(loadConfig({ PUBLIC_URL: 'https://id.example.org/' }).publicUrl).toBe('https://id.example.org');
  });
});

function errorOf(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error('expected a ConfigError');
}
