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
