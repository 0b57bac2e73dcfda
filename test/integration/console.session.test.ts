import { describe, expect, it } from 'vitest';
import { hashPassword } from '../../src/store/passwords.ts';
import { useTestRuntime } from '../support/runtime.ts';

/**
 * The console's sign-in (DESIGN.md §7): operators sign in with their password, the session lives
 * in an HttpOnly SameSite=Strict cookie, the admin API takes it like an admin token (with the CSRF
 * header for changes), and a session ends at sign-out, on ban, and on demotion.
 */
describe('console sessions', () => {
  const t = useTestRuntime({ label: 'console_session', roles: { api: true, relay: false, workers: false } });
  const PASSWORD = 'correct horse battery staple';

  async function operator(role: 'admin' | 'office_manager' | 'basic_user') {
    return t.createUser({ role, passwordHash: await hashPassword(PASSWORD), status: 'active' });
  }

  interface Session {
    cookie: string;
    csrf: string;
    setCookie: string[];
    status: number;
    body: Record<string, unknown>;
  }

  async function signIn(userName: string, password = PASSWORD, headers: Record<string, string> = {}): Promise<Session> {
    const res = await fetch(`${t.runtime.url}/console/api/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify({ userName, password }),
    });
    const setCookie = res.headers.getSetCookie();
    const pick = (name: string) => setCookie.find((c) => c.startsWith(`${name}=`))?.split(';')[0] ?? '';
    return {
      status: res.status,
      body: (await res.json()) as Record<string, unknown>,
      setCookie,
      cookie: [pick('turnover_session'), pick('turnover_csrf')].filter(Boolean).join('; '),
      csrf: decodeURIComponent(pick('turnover_csrf').split('=')[1] ?? ''),
    };
  }

  const admin = (session: Session, path: string, init: RequestInit = {}) =>
    fetch(`${t.runtime.url}/admin${path}`, { ...init, headers: { cookie: session.cookie, 'content-type': 'application/json', ...init.headers } });

  it('signs an operator in with an HttpOnly, SameSite=Strict session cookie stored only as a hash', async () => {
    const user = await operator('admin');
    const session = await signIn(user.userName!);
    expect(session.status).toBe(201);
    expect(session.body).toMatchObject({ userId: user.id, userName: user.userName, role: 'admin', tenant: 'default' });
    const sessionCookie = session.setCookie.find((c) => c.startsWith('turnover_session='))!;
    expect(sessionCookie).toMatch(/HttpOnly/i);
    expect(sessionCookie).toMatch(/SameSite=Strict/i);
    expect(session.setCookie.find((c) => c.startsWith('turnover_csrf='))).not.toMatch(/HttpOnly/i);
    const plain = session.cookie.split(';')[0]!.split('=')[1]!;
    const rows = JSON.stringify(await t.sql(`select * from operator_sessions where user_id = ?`, [user.id]));
    expect(rows).not.toContain(plain);
    const me = await fetch(`${t.runtime.url}/console/api/session`, { headers: { cookie: session.cookie } });
    expect(await me.json()).toMatchObject({ userId: user.id, role: 'admin' });
  });

  it('lets the admin API read with the cookie, and change only with the CSRF header', async () => {
    const user = await operator('admin');
    const target = await t.createUser();
    const session = await signIn(user.userName!);
    expect((await admin(session, '/users')).status).toBe(200);
    const patch = { method: 'PATCH', body: JSON.stringify({ department: 'Support' }) };
    const without = await admin(session, `/users/${target.id}`, patch);
    expect(without.status).toBe(403);
    expect(((await without.json()) as { code: string }).code).toBe('csrf_failed');
    const wrong = await admin(session, `/users/${target.id}`, { ...patch, headers: { 'x-csrf-token': 'x'.repeat(43) } });
    expect(wrong.status).toBe(403);
    const ok = await admin(session, `/users/${target.id}`, { ...patch, headers: { 'x-csrf-token': session.csrf } });
    expect(ok.status).toBe(200);
    const [audit] = await t.sql<{ actor: string }>(`select actor from audit_entries where user_id = ? and action like 'user.%' order by at desc limit 1`, [target.id]);
    expect(audit?.actor).toBe(`operator:${user.id}`);
  });

  it('refuses non-operators and wrong passwords alike, counts the failure, and refuses a cross-site sign-in form', async () => {
    const basic = await operator('basic_user');
    expect((await signIn(basic.userName!)).status).toBe(401);
    const user = await operator('office_manager');
    const wrong = await signIn(user.userName!, 'not the password at all');
    expect(wrong.status).toBe(401);
    expect((await t.getUser(user.id)).failedLoginCount).toBe(1);
    const crossSite = await signIn(user.userName!, PASSWORD, { origin: 'https://evil.example' });
    expect(crossSite.status).toBe(403);
  });

  it('keeps an office manager out of admin-only routes and the queue dashboard', async () => {
    const user = await operator('office_manager');
    const session = await signIn(user.userName!);
    expect((await admin(session, '/users')).status).toBe(200);
    expect((await admin(session, '/settings', { method: 'PUT', body: '{}', headers: { 'x-csrf-token': session.csrf } })).status).toBe(403);
    expect((await admin(session, '/queues')).status).toBe(403);
    expect((await admin(session, '/tokens')).status).toBe(403);
  });

  it('ends the session at sign-out, when the operator is banned, and when demoted', async () => {
    const a = await operator('admin');
    const s1 = await signIn(a.userName!);
    const out = await fetch(`${t.runtime.url}/console/api/session`, { method: 'DELETE', headers: { cookie: s1.cookie, 'x-csrf-token': s1.csrf } });
    expect(out.status).toBe(204);
    expect((await admin(s1, '/users')).status).toBe(401);

    const s2 = await signIn(a.userName!);
    expect((await admin(s2, '/users')).status).toBe(200);
    await t.sql(`update users set role = 'basic_user' where id = ?`, [a.id]);
    expect((await admin(s2, '/users')).status).toBe(401);

    // Another admin stays, so the ban does not take away the tenant's last one (refused as last_admin).
    await operator('admin');
    const b = await operator('admin');
    const s3 = await signIn(b.userName!);
    const taskId = await t.createTask('ban', b.id);
    await t.runtime.orm.em.fork().transactional(async (em) => {
      const { applyLifecycleEvent } = await import('../../src/store/user-lifecycle.ts');
      await applyLifecycleEvent(em, { tenantId: t.tenantId, userId: b.id, event: { type: 'ban' }, actor: 'test', taskId });
    });
    expect((await admin(s3, '/users')).status).toBe(401);
    const [row] = await t.sql<{ revoked: boolean }>(`select revoked_at is not null as revoked from operator_sessions where user_id = ?`, [b.id]);
    expect(row?.revoked).toBe(true);
  });

  it('serves the console with a strict Content-Security-Policy and a history fallback', async () => {
    const res = await fetch(`${t.runtime.url}/console/users/some/deep/link`);
    const csp = res.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toMatch(/script-src[^;]*unsafe-inline/);
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    if (res.status === 200) {
      const html = await res.text();
      expect(html).toContain('<div id="root"></div>');
      expect(html).not.toMatch(/<script>(?!\s*<\/script>)/); // no inline script
    } else {
      expect(res.status).toBe(503); // not built in this checkout
    }
  });
});
