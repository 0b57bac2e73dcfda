import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROCESSORS } from '../../jobs/index.ts';
import { insertApiToken } from '../../src/store/tokens.ts';
import { apiClient, createAdminToken } from '../support/api-client.ts';
import { parseMail } from '../support/mime.ts';
import { useTestRuntime } from '../support/runtime.ts';
import { startSmtpSink } from '../support/smtp-sink.ts';

// Started before useTestRuntime's beforeAll reads SMTP_URL.
const sink = await startSmtpSink();
afterAll(() => sink.close());

/**
 * A recycled seat gets its new person's login (src/lifecycle/login.ts), end to end over the admin
 * API with the real relay, workers and an SMTP server: after a reset and a recycle, neither the
 * user record, the user search, the operation's progress, SCIM nor the welcome mail shows the
 * previous person's login or email. Explicit logins (an IdP's, an operator's) stay.
 */
describe('a recycled seat gets its new person login', () => {
  const t = useTestRuntime({ label: 'admin_recycled_seat', processors: PROCESSORS, env: { SMTP_URL: sink.url } });
  let api: ReturnType<typeof apiClient>;
  let scimToken: string;
  beforeAll(async () => {
    api = apiClient(t, await createAdminToken(t, 'office_manager'));
    const em = t.runtime.orm.em.fork();
    scimToken = insertApiToken(em, { tenantId: t.tenantId, kind: 'scim', label: 'idp', actor: 'test' }).token;
    await em.flush();
  });

  const scim = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${t.runtime.url}/scim/v2${path}`, {
      method,
      headers: { authorization: `Bearer ${scimToken}`, ...(body ? { 'content-type': 'application/scim+json' } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    return { status: res.status, body: (await res.json()) as any };
  };

  async function waitFor<T>(read: () => Promise<T> | T, ok: (value: T) => boolean, what: string, timeoutMs = 20_000): Promise<T> {
    const started = Date.now();
    for (;;) {
      const value = await read();
      if (ok(value)) return value;
      if (Date.now() - started > timeoutMs) throw new Error(`${what}: never happened; last ${JSON.stringify(value)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Dry run, then the confirmed request; waits until every task is done and returns the progress. */
  async function operate(request: Record<string, unknown>) {
    const dry = await api.post('/admin/operations', { ...request, dryRun: true });
    expect(dry.status, JSON.stringify(dry.body)).toBe(200);
    expect(dry.body.refused).toBe(0);
    const run = await api.post('/admin/operations', { ...request, confirm: dry.body.confirmToken });
    expect(run.status, JSON.stringify(run.body)).toBe(202);
    const progress = await waitFor(
      async () => (await api.get(`/admin/operations/${run.body.operationId}`)).body,
      (b) => b.state === 'completed',
      `operation ${request.action}`,
    );
    expect(progress.counts, JSON.stringify(progress.tasks)).toMatchObject({ succeeded: progress.counts.total, failed: 0 });
    return { dry: dry.body, progress };
  }

  const mailsTo = (address: string) => sink.received.filter((m) => m.to.includes(address));

  it('after reset and recycle, nothing shows the previous person: user, search, progress, SCIM and the welcome mail', async () => {
    const created = await api.post('/admin/users', { firstName: 'Malcolm', lastName: 'Reynolds', email: 'malcolm@acme.test', extension: '2001', sendWelcome: false });
    expect(created.status).toBe(201);
    const id: string = created.body.id;
    expect(created.body.userName).toBe('malcolm@acme.test');
    expect((await api.post(`/admin/users/${id}/data`, { kind: 'voicemail_message', payload: { from: '+15550100' } })).status).toBe(201);

    const reset = await operate({ action: 'reset', userIds: [id], options: { voicemailMessages: true } });
    expect(reset.dry.users[0].effects).toContain('assign_login');
    const seat = (await api.get(`/admin/users/${id}`)).body;
    expect(seat).toMatchObject({ status: 'setup_required', userName: `seat-${id}`, email: null, extension: '2001' });
    expect(JSON.stringify(seat)).not.toMatch(/malcolm|reynolds/i);
    expect((await api.get('/admin/users?q=malcolm')).body.users).toEqual([]);

    const recycle = await operate({
      action: 'recycle',
      userIds: [id],
      options: { users: { [id]: { firstName: 'River', lastName: 'Tam', email: 'river@acme.test', sendWelcome: true } } },
    });
    const mail = parseMail((await waitFor(() => mailsTo('river@acme.test'), (m) => m.length === 1, 'the welcome mail'))[0]!.raw);

    const user = (await api.get(`/admin/users/${id}`)).body;
    expect(user).toMatchObject({ status: 'password_required', userName: 'river@acme.test', email: 'river@acme.test', firstName: 'River', extension: '2001' });
    const found = (await api.get('/admin/users?q=river')).body;
    expect(found.users.map((u: { id: string }) => u.id)).toEqual([id]);
    const scimUser = await scim('GET', `/Users/${id}`);
    expect(scimUser.status).toBe(200);
    expect(scimUser.body.userName).toBe('river@acme.test');
    const byOldLogin = await scim('GET', `/Users?filter=${encodeURIComponent('userName eq "malcolm@acme.test"')}`);
    expect(byOldLogin.body.totalResults).toBe(0);
    expect(mail.text).toContain('Login: river@acme.test\n');

    for (const [where, shown] of Object.entries({
      user,
      search: found,
      searchForTheOldLogin: (await api.get('/admin/users?q=malcolm')).body,
      resetProgress: reset.progress,
      recycleProgress: (await api.get(`/admin/operations/${recycle.progress.id}`)).body,
      scimUser: scimUser.body,
      scimList: (await scim('GET', '/Users')).body,
      mail: `${mail.text}\n${mail.html}`,
    })) {
      expect(typeof shown === 'string' ? shown : JSON.stringify(shown), where).not.toMatch(/malcolm|reynolds/i);
    }
  });

  it("falls back to first.last when the new email is another user's login, and numbers the same name; every recycle succeeds", async () => {
    await t.createUser({ userName: 'kaylee@acme.test', email: 'kaylee@other.test' });
    const ids: string[] = [];
    for (const n of [1, 2, 3]) {
      const created = await api.post('/admin/users', { firstName: 'Leaving', lastName: `Person ${n}`, email: `leaving${n}@acme.test`, sendWelcome: false });
      ids.push(created.body.id);
    }
    await operate({ action: 'reset', userIds: ids });
    // One operation: the first seat's new email is taken as a login; the other two get the same name.
    await operate({
      action: 'recycle',
      userIds: ids,
      options: {
        users: {
          [ids[0]!]: { firstName: 'Kaylee', lastName: 'Frye', email: 'kaylee@acme.test', sendWelcome: true },
          [ids[1]!]: { firstName: 'Temp', lastName: 'Agent' },
          [ids[2]!]: { firstName: 'Temp', lastName: 'Agent' },
        },
      },
    });
    const users = await Promise.all(ids.map(async (id) => (await api.get(`/admin/users/${id}`)).body));
    expect(users[0]).toMatchObject({ userName: 'kaylee.frye', email: 'kaylee@acme.test' });
    expect(users.slice(1).map((u) => u.userName).sort()).toEqual(['temp.agent', 'temp.agent.2']);
    const mail = parseMail((await waitFor(() => mailsTo('kaylee@acme.test'), (m) => m.length === 1, 'the welcome mail'))[0]!.raw);
    expect(mail.text).toContain('Login: kaylee.frye\n');
  });

  it('keeps an explicit login through reset and recycle: one an IdP provisioned, one an IdP linked, one an operator set', async () => {
    const provisioned = await scim('POST', '/Users', {
      schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'],
      userName: 'jayne.cobb',
      name: { givenName: 'Jayne', familyName: 'Cobb' },
      emails: [{ value: 'jayne@acme.test', type: 'work', primary: true }],
    });
    expect(provisioned.status).toBe(201);
    const linked = (await api.post('/admin/users', { firstName: 'Hoban', lastName: 'Washburne', email: 'wash@acme.test', sendWelcome: false })).body;
    const put = await scim('PUT', `/Users/${linked.id}`, {
      schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'],
      userName: 'wash@acme.test',
      externalId: '00u-wash',
      name: { givenName: 'Hoban', familyName: 'Washburne' },
      emails: [{ value: 'wash@acme.test', type: 'work', primary: true }],
    });
    expect(put.status).toBe(200);
    const chosen = (await api.post('/admin/users', { firstName: 'Shepherd', lastName: 'Book', email: 'book@acme.test', sendWelcome: false })).body;
    expect((await api.patch(`/admin/users/${chosen.id}`, { userName: 'seat.front.desk' })).status).toBe(200);

    const ids = [provisioned.body.id as string, linked.id as string, chosen.id as string];
    await operate({ action: 'reset', userIds: ids });
    await operate({ action: 'recycle', userIds: ids, options: { users: Object.fromEntries(ids.map((id) => [id, { firstName: 'New', lastName: 'Person' }])) } });
    const names = await Promise.all(ids.map(async (id) => (await api.get(`/admin/users/${id}`)).body.userName));
    expect(names).toEqual(['jayne.cobb', 'wash@acme.test', 'seat.front.desk']);
    expect((await scim('GET', `/Users/${ids[0]}`)).body.userName).toBe('jayne.cobb');
  });

  it('"Reset App Access" (a reset with a hand-over) follows the same rule', async () => {
    const created = (await api.post('/admin/users', { firstName: 'Zoe', lastName: 'Washburne', email: 'zoe@acme.test', extension: '2002', sendWelcome: false })).body;
    const { dry } = await operate({
      action: 'reset',
      userIds: [created.id],
      handOver: { users: { [created.id]: { firstName: 'Inara', lastName: 'Serra', email: 'inara@acme.test' } } },
    });
    expect(dry.users[0].effects).toContain('assign_login');
    const user = (await api.get(`/admin/users/${created.id}`)).body;
    expect(user).toMatchObject({ status: 'password_required', userName: 'inara@acme.test', email: 'inara@acme.test', extension: '2002' });
    const scimUser = (await scim('GET', `/Users/${created.id}`)).body;
    expect(scimUser.userName).toBe('inara@acme.test');
    for (const shown of [user, scimUser, (await api.get('/admin/users?q=zoe')).body]) expect(JSON.stringify(shown)).not.toMatch(/zoe|washburne/i);
  });
});
