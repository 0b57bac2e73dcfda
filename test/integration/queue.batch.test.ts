import { describe, expect, it } from 'vitest';
import { queueBackendsUnderTest } from '../support/database.ts';
import { useTestRuntime } from '../support/runtime.ts';

/**
 * Group commit (src/queue/run-task.ts): lifecycle tasks that arrive together run in one
 * transaction. What must hold: each task's effect happens exactly once, a task refused in a batch
 * fails alone (its batch-mates still succeed), and a user with two tasks in one burst gets both,
 * in turn.
 */
describe.each(queueBackendsUnderTest())('lifecycle tasks committed together on $name', ({ name, redisUrl }) => {
  const t = useTestRuntime({
    label: `batch_${name}`,
    redisUrl,
    roles: { api: false, relay: true, workers: true },
  });

  it('runs a burst of bans once each, fails the refused ones alone, and shares transactions', async () => {
    const users = await t.sql<{ id: string; n: number }>(
      `insert into users (id, tenant_id, user_name, status, status_changed_at)
       select gen_random_uuid(), ?, 'batch.' || g || '@example.org', 'active', now() from generate_series(1, 64) g
       returning id, substring(user_name from 'batch\\.(\\d+)@')::int as n`,
      [t.tenantId],
    );
    const byN = new Map(users.map((u) => [u.n, u.id]));
    // 1..60 banned once; 61 banned twice; 62..64 recycled without a reset: refused (not_reset).
    const tasks = [
      ...Array.from({ length: 60 }, (_, i) => ['ban', byN.get(i + 1)!]),
      ['ban', byN.get(61)!],
      ['ban', byN.get(61)!],
      ...[62, 63, 64].map((n) => ['recycle', byN.get(n)!]),
    ];
    // One statement: the relay hands them to the queue together, so they arrive in bursts.
    await t.sql(
      `insert into tasks (id, tenant_id, type, user_id, payload, actor, run_at)
       select gen_random_uuid(), ?, x.type, x.user_id::uuid, x.payload, 'test', now() from jsonb_to_recordset(?::jsonb) as x(type text, user_id text, payload jsonb)`,
      [t.tenantId, JSON.stringify(tasks.map(([type, userId]) => ({ type, user_id: userId, payload: type === 'recycle' ? { firstName: 'New', lastName: 'Hire' } : {} })))],
    );

    let states: Array<{ type: string; state: string; count: string }> = [];
    for (let i = 0; i < 300; i++) {
      states = await t.sql(`select type, state, count(*) as count from tasks group by 1, 2 order by 1, 2`);
      if (states.every((s) => s.state === 'succeeded' || s.state === 'failed')) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(states).toEqual([
      { type: 'ban', state: 'succeeded', count: '62' },
      { type: 'recycle', state: 'failed', count: '3' },
    ]);
    const refused = await t.sql<{ last_error: string }>(`select last_error from tasks where type = 'recycle'`);
    expect(refused).toHaveLength(3);
    for (const r of refused) expect(r.last_error).toMatch(/^not_reset/);

    const statuses = await t.sql<{ status: string; count: string }>(`select status, count(*) as count from users group by 1 order by 1`);
    expect(statuses).toEqual([
      { status: 'active', count: '3' },
      { status: 'banned', count: '61' },
    ]);
    // Exactly one real change per banned user (61's second ban changes nothing), and no audit
    // entry for the refusals: a rolled-back batch left nothing behind.
    const audits = await t.sql<{ action: string; changed: string; users: string; entries: string }>(
      `select action, details->>'changed' as changed, count(distinct user_id) as users, count(*) as entries
         from audit_entries where action in ('user.ban', 'user.recycle') group by 1, 2 order by 1, 2`,
    );
    expect(audits).toEqual([
      { action: 'user.ban', changed: 'false', users: '1', entries: '1' },
      { action: 'user.ban', changed: 'true', users: '61', entries: '61' },
    ]);
    // Group commit happened: entries written in one transaction share its start time.
    const [{ transactions }] = (await t.sql<{ transactions: string }>(
      `select count(distinct at) as transactions from audit_entries where action = 'user.ban'`,
    )) as [{ transactions: string }];
    expect(Number(transactions)).toBeLessThan(62);
  });

  it('writes users with different changes in one batch each by its own plan', async () => {
    const users = await t.sql<{ id: string; n: number }>(
      `insert into users (id, tenant_id, user_name, first_name, last_name, status, status_changed_at)
       select gen_random_uuid(), ?, 'mixed.' || g || '@example.org', 'Ada', 'Lovelace', 'active', now() from generate_series(1, 30) g
       returning id, substring(user_name from 'mixed\\.(\\d+)@')::int as n`,
      [t.tenantId],
    );
    const ids = users.map((u) => u.id);
    await t.sql(
      `insert into user_data (id, tenant_id, user_id, kind, payload)
       select gen_random_uuid(), ?, id, k, '{}' from users, unnest(array['voicemail_message', 'custom_contact']) k where id = any(?::uuid[])`,
      [t.tenantId, `{${ids.join(',')}}`],
    );
    // Three changes in one burst: resets clearing voicemail, resets keeping it, and bans.
    const plan = users.map((u) => ({
      user_id: u.id,
      type: u.n % 3 === 0 ? 'ban' : 'reset',
      payload: u.n % 3 === 1 ? { options: { voicemailMessages: true } } : u.n % 3 === 2 ? { options: {} } : {},
    }));
    await t.sql(
      `insert into tasks (id, tenant_id, type, user_id, payload, actor, run_at)
       select gen_random_uuid(), ?, x.type, x.user_id::uuid, x.payload, 'test', now() from jsonb_to_recordset(?::jsonb) as x(type text, user_id text, payload jsonb)`,
      [t.tenantId, JSON.stringify(plan)],
    );
    for (let i = 0; i < 300; i++) {
      const [{ open }] = (await t.sql<{ open: string }>(
        `select count(*) as open from tasks where user_id = any(?::uuid[]) and state not in ('succeeded', 'failed')`,
        [`{${ids.join(',')}}`],
      )) as [{ open: string }];
      if (open === '0') break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const rows = await t.sql<{ n: number; status: string; first_name: string | null; kinds: string | null; state: string }>(
      `select substring(u.user_name from 'mixed\\.(\\d+)@')::int as n, u.status, u.first_name,
              (select string_agg(kind, ',' order by kind) from user_data d where d.user_id = u.id) as kinds,
              (select state from tasks where user_id = u.id) as state
         from users u where u.id = any(?::uuid[]) order by 1`,
      [`{${ids.join(',')}}`],
    );
    for (const r of rows) {
      expect(r.state).toBe('succeeded');
      if (r.n % 3 === 0) expect([r.status, r.first_name, r.kinds]).toEqual(['banned', 'Ada', 'custom_contact,voicemail_message']);
      else if (r.n % 3 === 1) expect([r.status, r.first_name, r.kinds]).toEqual(['setup_required', null, 'custom_contact']);
      else expect([r.status, r.first_name, r.kinds]).toEqual(['setup_required', null, 'custom_contact,voicemail_message']);
    }
    // They did share transactions (so one statement carried several plans).
    const [{ transactions }] = (await t.sql<{ transactions: string }>(
      `select count(distinct at) as transactions from audit_entries where user_id = any(?::uuid[]) and action in ('user.reset', 'user.ban')`,
      [`{${ids.join(',')}}`],
    )) as [{ transactions: string }];
    expect(Number(transactions)).toBeLessThan(30);
  });
});
