import pg from 'pg';
import { beforeAll, describe, expect, it } from 'vitest';
import { hashToken } from '../../src/store/tokens.ts';
import { runCli } from '../support/cli.ts';
import { createTestDatabase } from '../support/database.ts';

let databaseUrl: string;
beforeAll(async () => {
  databaseUrl = await createTestDatabase('cli');
});

async function query<T>(sql: string, params: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    return (await client.query(sql, params)).rows as T[];
  } finally {
    await client.end();
  }
}

describe('turnover token', () => {
  it('creates a SCIM token, prints it alone on the last line, and stores only its hash', async () => {
    const result = await runCli(['token', 'create', '--kind', 'scim', '--tenant', 'acme'], { DATABASE_URL: databaseUrl });
    expect(result.code).toBe(0);
    expect(result.lastLine).toMatch(/^tov_scim_[A-Za-z0-9_-]{43}$/);
    const rows = await query<{ token_hash: string; kind: string; role: string | null; name: string }>(
      `select t.token_hash, t.kind, t.role, n.name from api_tokens t join tenants n on n.id = t.tenant_id`,
    );
    expect(rows).toEqual([{ token_hash: hashToken(result.lastLine), kind: 'scim', role: null, name: 'acme' }]);
    const everything = JSON.stringify(await query('select * from api_tokens')) + JSON.stringify(await query('select * from audit_entries'));
    expect(everything).not.toContain(result.lastLine);
    expect(everything).not.toContain(result.lastLine.slice(20));
  });

  it('creates an admin token with its role and audits it', async () => {
    const result = await runCli(['token', 'create', '--kind', 'admin', '--role', 'office_manager'], { DATABASE_URL: databaseUrl });
    expect(result.code).toBe(0);
    const [row] = await query<{ role: string; id: string }>(`select id, role from api_tokens where token_hash = $1`, [hashToken(result.lastLine)]);
    expect(row?.role).toBe('office_manager');
    const audit = await query<{ action: string; actor: string }>(`select action, actor from audit_entries where details->>'tokenId' = $1`, [row!.id]);
    expect(audit).toEqual([{ action: 'token.created', actor: 'cli' }]);
  });

  it.each([
    [['token', 'create', '--kind', 'admin'], /--role is required/],
    [['token', 'create', '--kind', 'scim', '--role', 'admin'], /--role applies to admin tokens only/],
    [['token', 'create', '--kind', 'root'], /Allowed choices are scim, admin, device/],
    [['token', 'create'], /required option '--kind <kind>' not specified/],
  ])('refuses %j with a usage error and exit code 2', async (args, message) => {
    const result = await runCli(args, { DATABASE_URL: databaseUrl });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(result.stdout).toBe('');
  });

  it('revokes a token by the token itself, by id, and says so when nothing matches', async () => {
    const created = await runCli(['token', 'create', '--kind', 'scim'], { DATABASE_URL: databaseUrl });
    const revoked = await runCli(['token', 'revoke', created.lastLine], { DATABASE_URL: databaseUrl });
    expect(revoked.code).toBe(0);
    const [row] = await query<{ revoked_at: Date | null }>(`select revoked_at from api_tokens where token_hash = $1`, [hashToken(created.lastLine)]);
    expect(row?.revoked_at).toBeInstanceOf(Date);

    const again = await runCli(['token', 'revoke', created.lastLine], { DATABASE_URL: databaseUrl });
    expect(again.code).toBe(2);
    expect(again.stderr).toContain('no live token matches');

    const other = await runCli(['token', 'create', '--kind', 'scim'], { DATABASE_URL: databaseUrl });
    const [{ id }] = (await query<{ id: string }>(`select id from api_tokens where token_hash = $1`, [hashToken(other.lastLine)])) as [{ id: string }];
    expect((await runCli(['token', 'revoke', id], { DATABASE_URL: databaseUrl })).code).toBe(0);
  });

  it('stops with one clear line when the configuration is wrong', async () => {
    const result = await runCli(['token', 'create', '--kind', 'scim'], { DATABASE_URL: 'mysql://nope' });
    expect(result.code).toBe(2);
    expect(result.stderr.trim()).toMatch(/^turnover: invalid DATABASE_URL: must be a URL starting with postgres:\/\/ or postgresql:\/\/ \(got "mysql:\/\/nope"\)$/);
  });
});

describe('turnover token create --kind device', () => {
  it("binds the token to a device of the named user (registered once, reused) and refuses without --user-name", async () => {
    const env = { DATABASE_URL: databaseUrl };
    const refused = await runCli(['token', 'create', '--kind', 'device'], env);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('--user-name is required');
    const operator = await runCli(['operator', 'create', '--user-name', 'desk.phone.owner', '--email', 'owner@example.org', '--role', 'office_manager'], env);
    expect(operator.code).toBe(0);
    const first = await runCli(['token', 'create', '--kind', 'device', '--user-name', 'DESK.PHONE.OWNER'], env);
    const second = await runCli(['token', 'create', '--kind', 'device', '--user-name', 'desk.phone.owner'], env);
    expect([first.code, second.code]).toEqual([0, 0]);
    expect(first.lastLine).toMatch(/^tov_device_[A-Za-z0-9_-]{43}$/);
    const rows = await query<{ token_hash: string; user_name: string; device_id: string; client_id: string }>(
      `select t.token_hash, u.user_name, t.device_id, d.client_id from api_tokens t join users u on u.id = t.user_id join devices d on d.id = t.device_id
        where t.kind = 'device' order by t.created_at`,
    );
    expect(rows.map((r) => r.token_hash)).toEqual([hashToken(first.lastLine), hashToken(second.lastLine)]);
    expect(new Set(rows.map((r) => r.device_id)).size).toBe(1);
    expect(rows[0]).toMatchObject({ user_name: 'desk.phone.owner', client_id: 'cli' });
    const unknown = await runCli(['token', 'create', '--kind', 'device', '--user-name', 'nobody'], env);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('no user named nobody');
  });
});

describe('turnover operator create', () => {
  it('creates an operator awaiting a password, prints a one-time set-password link alone on the last line, and stores only its hash', async () => {
    const result = await runCli(
      ['operator', 'create', '--user-name', 'ada', '--email', 'ada@example.org', '--role', 'admin', '--tenant', 'ops'],
      { DATABASE_URL: databaseUrl, PUBLIC_URL: 'https://turnover.example.org' },
    );
    expect(result.code).toBe(0);
    const url = new URL(result.lastLine);
    expect(`${url.origin}${url.pathname}`).toBe('https://turnover.example.org/set-password');
    const token = url.searchParams.get('token')!;
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const [user] = await query<{ id: string; status: string; role: string; email: string; password_hash: string | null; tenant: string }>(
      `select u.id, u.status, u.role, u.email, u.password_hash, t.name as tenant from users u join tenants t on t.id = u.tenant_id where u.user_name = 'ada'`,
    );
    expect(user).toMatchObject({ status: 'password_required', role: 'admin', email: 'ada@example.org', password_hash: null, tenant: 'ops' });
    const links = await query<{ token_hash: string; purpose: string; hours: number }>(
      `select token_hash, purpose, round(extract(epoch from expires_at - created_at) / 3600)::int as hours from password_links where user_id = $1`,
      [user!.id],
    );
    expect(links).toEqual([{ token_hash: hashToken(token), purpose: 'welcome', hours: 168 }]);
    // No welcome email is queued: the link was handed over on the command line.
    expect(await query(`select 1 from tasks where user_id = $1 and type = 'welcome_email'`, [user!.id])).toEqual([]);
    const audit = await query<{ action: string; actor: string }>(`select action, actor from audit_entries where user_id = $1`, [user!.id]);
    expect(audit).toContainEqual({ action: 'user.create', actor: 'cli' });
    expect(JSON.stringify(await query('select * from password_links')) + JSON.stringify(await query('select * from audit_entries'))).not.toContain(token);

    const again = await runCli(['operator', 'create', '--user-name', 'ADA', '--email', 'ada2@example.org', '--role', 'admin', '--tenant', 'ops'], {
      DATABASE_URL: databaseUrl,
    });
    expect(again.code).toBe(2);
    expect(again.stderr).toContain('already exists');
    const badRole = await runCli(['operator', 'create', '--user-name', 'bob', '--email', 'bob@example.org', '--role', 'basic_user'], { DATABASE_URL: databaseUrl });
    expect(badRole.code).toBe(2);
  });
});

describe('one-shot commands against a current schema', () => {
  it('write without running the migrator: a held migration lock (a server starting up, a long migration) does not stall them', async () => {
    // The migrator's session lock (src/store/orm.ts), held the way a migrating process holds it.
    const holder = new pg.Client({ connectionString: databaseUrl });
    await holder.connect();
    try {
      await holder.query('select pg_advisory_lock($1)', [0x7475726e]);
      const created = await runCli(['token', 'create', '--kind', 'scim', '--tenant', 'unlocked'], { DATABASE_URL: databaseUrl }, 20_000);
      expect(created.code, created.stderr).toBe(0);
      expect(created.lastLine).toMatch(/^tov_scim_/);
      const revoked = await runCli(['token', 'revoke', created.lastLine, '--tenant', 'unlocked'], { DATABASE_URL: databaseUrl }, 20_000);
      expect(revoked.code, revoked.stderr).toBe(0);
    } finally {
      await holder.end();
    }
  }, 60_000);
});
