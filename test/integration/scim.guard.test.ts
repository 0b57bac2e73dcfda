import { describe, expect, it } from 'vitest';
import { apiClient, createAdminToken } from '../support/api-client.ts';
import { useScim } from './scim.helpers.ts';

/**
 * The mass-deprovision guard: a burst of SCIM deactivations past the tenant's limit is
 * answered as the IdP expects, but its effects wait as held tasks until an admin approves (then
 * they run) or rejects (the users keep access, marked as differing from the IdP).
 */
describe('mass-deprovision guard', () => {
  const s = useScim('scim_guard');
  const deactivate = (id: string) => s.patch(`/Users/${id}`, [{ op: 'replace', value: { active: false } }]);
  const status = async (id: string) => (await s.t.getUser(id)).status;

  async function burst(n: number) {
    // 20 users who can sign in: the limit is min(3, 20% of those still active), 3 here.
    await s.t.sql(`update tenants set policy = ?::jsonb where id = ?`, [
      JSON.stringify({ deprovisionGuard: { enabled: true, maxCount: 3, maxPercent: 20, windowMinutes: 60 } }),
      s.t.tenantId,
    ]);
    const users = [];
    for (let i = 0; i < n; i++) users.push(await s.createUser());
    return users;
  }

  it('applies deactivations up to the limit, holds the rest, and answers the IdP as it expects', async () => {
    const users = await burst(20);
    const replies = [];
    for (const u of users.slice(0, 6)) replies.push(await deactivate(u.id));
    expect(replies.map((r) => r.status)).toEqual([200, 200, 200, 200, 200, 200]);
    expect(replies.map((r) => r.body.active)).toEqual([false, false, false, false, false, false]);
    expect(await Promise.all(users.slice(0, 6).map((u) => status(u.id)))).toEqual([
      'disabled',
      'disabled',
      'disabled',
      'password_required',
      'password_required',
      'password_required',
    ]);
    const held = await s.t.sql<{ user_id: string; type: string; reason: string; payload: Record<string, unknown> }>(
      `select user_id, type, reason, payload from tasks where state = 'held' order by created_at`,
    );
    expect(held.map((h) => h.user_id)).toEqual(users.slice(3, 6).map((u) => u.id));
    expect(held[0]).toMatchObject({ type: 'deprovision', reason: 'deprovision_guard', payload: { source: 'scim', idpEvent: 'scim_deactivate' } });
    // The admins get one e-mail for the burst (a guard_alert task due shortly), not one per user.
    expect(await s.t.sql(`select state from tasks where type = 'guard_alert'`)).toEqual([{ state: 'pending' }]);
    // A second deactivation of a held user keeps one held task.
    await deactivate(users[3].id);
    expect((await s.t.sql(`select 1 from tasks where state = 'held' and user_id = ?`, [users[3].id])).length).toBe(1);
    // The IdP changing its mind cancels the held work.
    const back = await s.patch(`/Users/${users[5].id}`, [{ op: 'replace', value: { active: true } }]);
    expect(back.status).toBe(200);
    expect((await s.t.sql<{ state: string }>(`select state from tasks where user_id = ? and reason = 'deprovision_guard'`, [users[5].id]))[0]?.state).toBe('cancelled');
  });

  it("names the held users in the Work inbox and says why with the guard's numbers", async () => {
    const admin = apiClient(s.t, await createAdminToken(s.t, 'admin'));
    const inbox = await admin.get('/admin/tasks?state=held');
    expect(inbox.status).toBe(200);
    expect(inbox.body.tasks).toHaveLength(2);
    for (const task of inbox.body.tasks) {
      expect(task.user).toMatchObject({ name: 'Ada Lovelace', userName: expect.stringMatching(/@example\.org$/) });
      // The 4th deactivation in the window was the first held: limit 3.
      expect(task.reasonText).toMatch(/^The identity provider deactivated or deleted more users than the mass-deprovision guard allows: [4-9] in 60 minutes, limit 3\.$/);
      expect(task.actorName).toMatch(/^SCIM token /);
    }
    const audit = await admin.get('/admin/audit?action=user.idp_change_held');
    expect(audit.body.entries.length).toBeGreaterThanOrEqual(3);
    expect(audit.body.entries[0]).toMatchObject({ actorName: expect.stringMatching(/^SCIM token /), user: { name: 'Ada Lovelace' }, details: { guard: { limit: 3, windowMinutes: 60 } } });
  });

  it('lets an admin approve held work (it then runs) and reject it (the user keeps access), audited', async () => {
    const admin = apiClient(s.t, await createAdminToken(s.t, 'admin'));
    const manager = apiClient(s.t, await createAdminToken(s.t, 'office_manager'));
    const held = await s.t.sql<{ id: string; user_id: string }>(`select id, user_id from tasks where state = 'held' order by created_at`);
    expect(held).toHaveLength(2);
    expect((await manager.post('/admin/tasks/held/approve', {})).status).toBe(403);

    const approved = await admin.post('/admin/tasks/held/approve', { taskIds: [held[0]!.id] });
    expect(approved.status).toBe(200);
    expect(approved.body.taskIds).toEqual([held[0]!.id]);
    expect((await s.t.sql<{ state: string }>(`select state from tasks where id = ?`, [held[0]!.id]))[0]?.state).toBe('pending');

    const rejected = await admin.post('/admin/tasks/held/reject', {});
    expect(rejected.body.taskIds).toEqual([held[1]!.id]);
    expect(await status(held[1]!.user_id)).toBe('password_required');
    const [user] = await s.t.sql<{ idp_active: boolean }>(`select idp_active from users where id = ?`, [held[1]!.user_id]);
    expect(user?.idp_active).toBe(false); // differs from the IdP, visibly
    const actions = await s.t.sql<{ action: string }>(`select action from audit_entries where task_id in (?, ?) order by at`, [held[0]!.id, held[1]!.id]);
    expect(actions.map((a) => a.action)).toEqual(expect.arrayContaining(['user.idp_change_held', 'task.held_approved', 'task.held_rejected']));
  });
});
