import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { PROCESSORS } from '../../jobs/index.ts';
import { LifecycleWrites } from '../../src/store/lifecycle-writes.ts';
import { lockTaskUsers } from '../../src/store/task-users.ts';
import { insertApiToken } from '../../src/store/tokens.ts';
import { applyLifecycleEvent } from '../../src/store/user-lifecycle.ts';
import { apiClient, createAdminToken, createTenant } from '../support/api-client.ts';
import { useTestRuntime } from '../support/runtime.ts';

/**
 * The last administrator (src/lifecycle/last-admin.ts) over HTTP, with the real relay and
 * workers: an operator can take away any admin but the last one who can sign in, in a dry run,
 * a real run, a role change, or two operators at once. Each test has a tenant of its own, so the
 * admins of one test do not count for another.
 */
describe('the last admin', () => {
  const t = useTestRuntime({ label: 'admin_last_admin', processors: PROCESSORS });

  async function tenant(admins: number) {
    const tenantId = await createTenant(t, `last-admin-${randomBytes(4).toString('hex')}`);
    const api = apiClient(t, await createAdminToken(t, 'admin', tenantId));
    const ids: string[] = [];
    for (let i = 0; i < admins; i++) ids.push((await t.createUser({ tenantId, role: 'admin', status: 'active', passwordHash: 'x' })).id);
    const other = (await t.createUser({ tenantId, role: 'office_manager', status: 'active' })).id;
    return { tenantId, api, admins: ids, other };
  }

  async function waitForOperation(api: ReturnType<typeof apiClient>, id: string): Promise<any> {
    const started = Date.now();
    for (;;) {
      const res = await api.get(`/admin/operations/${id}`);
      if (res.body.state === 'completed') return res.body;
      if (Date.now() - started > 20_000) throw new Error(`operation ${id} never completed: ${JSON.stringify(res.body.counts)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  const statuses = async (ids: string[]) =>
    (await t.sql<{ id: string; status: string; role: string }>(`select id, status, role from users where id = any(?::uuid[])`, [`{${ids.join(',')}}`]))
      .sort((a, b) => ids.indexOf(a.id) - ids.indexOf(b.id))
      .map((u) => `${u.role}:${u.status}`);

  it.each(['disable', 'ban', 'delete', 'permanent_delete', 'reset', 'deprovision'])(
    'refuses %s of the only admin with 409 last_admin, in the dry run and the real run, also among other users; nothing changes',
    async (action) => {
      const { tenantId, api, admins, other } = await tenant(1);
      for (const userIds of [admins, [other, ...admins]]) {
        for (const dryRun of [true, false]) {
          const res = await api.post('/admin/operations', { action, userIds, ...(dryRun ? { dryRun } : {}) });
          expect(res.status, JSON.stringify(res.body)).toBe(409);
          expect(res.headers.get('content-type')).toMatch(/application\/problem\+json/);
          expect(res.body).toMatchObject({ code: 'last_admin', userIds: admins });
        }
      }
      expect(await statuses([...admins, other])).toEqual(['admin:active', 'office_manager:active']);
      expect(await t.sql(`select id from tasks where tenant_id = ?`, [tenantId])).toEqual([]);
    },
  );

  it('with two admins disables one, then refuses the other; refuses both at once', async () => {
    const { api, admins } = await tenant(2);
    const both = await api.post('/admin/operations', { action: 'disable', userIds: admins, dryRun: true });
    expect([both.status, both.body.code, [...both.body.userIds].sort()]).toEqual([409, 'last_admin', [...admins].sort()]);

    const first = await api.post('/admin/operations', { action: 'disable', userIds: [admins[0]] });
    expect(first.status).toBe(202);
    expect((await waitForOperation(api, first.body.operationId)).counts).toMatchObject({ succeeded: 1 });
    const second = await api.post('/admin/operations', { action: 'disable', userIds: [admins[1]] });
    expect([second.status, second.body.code]).toEqual([409, 'last_admin']);
    expect(await statuses(admins)).toEqual(['admin:disabled', 'admin:active']);
    // An admin who cannot sign in is not protected: the disabled one can be banned.
    const ban = await api.post('/admin/operations', { action: 'ban', userIds: [admins[0]] });
    expect(ban.status).toBe(202);
  });

  it('refuses demoting the last admin, and allows it while another admin remains', async () => {
    const { api, admins } = await tenant(2);
    const demote = (id: string) => api.patch(`/admin/users/${id}`, { role: 'office_manager', department: 'Ops' });
    expect((await demote(admins[0]!)).status).toBe(200);
    const refused = await demote(admins[1]!);
    expect([refused.status, refused.body.code]).toEqual([409, 'last_admin']);
    expect(refused.headers.get('content-type')).toMatch(/application\/problem\+json/);
    expect(await statuses(admins)).toEqual(['office_manager:active', 'admin:active']);
    expect((await t.sql<{ department: string | null }>(`select department from users where id = ?`, [admins[1]]))[0]!.department).toBeNull();
    // Other edits of the last admin are fine.
    expect((await api.patch(`/admin/users/${admins[1]}`, { department: 'Ops', role: 'admin' })).status).toBe(200);
  });

  it('two operators disabling each of the two last admins at once leave one admin', async () => {
    const { api, admins } = await tenant(2);
    const answers = await Promise.all(admins.map((id) => api.post('/admin/operations', { action: 'disable', userIds: [id] })));
    const started = answers.filter((a) => a.status === 202);
    for (const a of answers) expect([202, 409]).toContain(a.status);
    const done = await Promise.all(started.map((a) => waitForOperation(api, a.body.operationId)));
    const refusedTasks = done.flatMap((d) => d.tasks).filter((task: { state: string }) => task.state === 'failed');
    expect((await statuses(admins)).sort()).toEqual(['admin:active', 'admin:disabled']);
    // The loser was told: a 409 at once, or its task failed with the refusal.
    expect(answers.filter((a) => a.status === 409).length + refusedTasks.length).toBe(1);
    for (const task of refusedTasks) expect(task.lastError).toMatch(/^last_admin: /);
  });

  it('serialises the check across transactions: the second waits for the first and is then refused', async () => {
    const { tenantId, admins } = await tenant(2);
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let firstApplied!: () => void;
    const applied = new Promise<void>((r) => (firstApplied = r));
    const disable = (userId: string) => (em: Parameters<typeof applyLifecycleEvent>[0]) =>
      applyLifecycleEvent(em, { tenantId, userId, event: { type: 'disable' }, actor: 'admin:test' });

    const first = t.runtime.orm.em.fork().transactional(async (em) => {
      const result = await disable(admins[0]!)(em);
      firstApplied();
      await gate;
      return result;
    });
    await applied;
    let secondSettled = false;
    const second = t.runtime.orm.em
      .fork()
      .transactional(disable(admins[1]!))
      .finally(() => (secondSettled = true));
    await new Promise((r) => setTimeout(r, 300));
    expect(secondSettled).toBe(false); // waiting for the first transaction's decision
    release();
    expect((await first).ok).toBe(true);
    expect(await second).toEqual({ ok: false, refusal: { code: 'last_admin', message: expect.any(String) } });
    expect(await statuses(admins)).toEqual(['admin:disabled', 'admin:active']);
  });

  it('counts what a batch transaction took away already (group commit: deferred writes)', async () => {
    const { tenantId, admins } = await tenant(2);
    const outcome = await t.runtime.orm.em.fork().transactional(async (em) => {
      const locked = await lockTaskUsers(em, admins.map((userId) => ({ userId, tenantId })));
      const writes = new LifecycleWrites();
      const results = [];
      for (const userId of admins) {
        results.push(await applyLifecycleEvent(em, { tenantId, userId, event: { type: 'ban' }, actor: 'admin:test', locked: locked.get(userId)!, defer: writes }));
      }
      await writes.run(em);
      return results.map((r) => (r.ok ? r.result.status : r.refusal.code));
    });
    expect(outcome).toEqual(['banned', 'last_admin']);
    expect(await statuses(admins)).toEqual(['admin:banned', 'admin:active']);
  });

  it('lets the identity provider deactivate the last admin: the IdP is authoritative for its people', async () => {
    const { tenantId, admins } = await tenant(1);
    const em = t.runtime.orm.em.fork();
    const token = insertApiToken(em, { tenantId, kind: 'scim', label: 'idp', actor: 'test' }).token;
    await em.flush();
    const res = await fetch(`${t.runtime.url}/scim/v2/Users/${admins[0]}`, {
      method: 'PATCH',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/scim+json' },
      body: JSON.stringify({ schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: 'replace', path: 'active', value: false }] }),
    });
    expect(res.status).toBe(200);
    expect(await statuses(admins)).toEqual(['admin:disabled']);
  });
});
