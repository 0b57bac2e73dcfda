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
