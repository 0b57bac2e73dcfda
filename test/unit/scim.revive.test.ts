import { describe, expect, it } from 'vitest';
import { DEFAULT_POLICY } from '../../src/lifecycle/policy.ts';
import { transition, type LifecycleUser, type TransitionResult } from '../../src/lifecycle/transition.ts';

/** scim_revive: the IdP creates again a user it deleted (src/scim/users.ts createUser). */
describe('transition scim_revive', () => {
  const deleted: LifecycleUser = { status: 'deleted', disabledBy: null, failedLoginCount: 4, hasPassword: true };
  const ok = (r: TransitionResult) => {
    if (!r.ok) throw new Error(r.refusal.code);
    return { status: r.status, disabledBy: r.disabledBy, failedLoginCount: r.failedLoginCount, effects: r.effects.map((e) => e.type) };
  };

  it('brings a deleted user back like a SCIM create: password_required, old password cleared, welcome per policy', () => {
    expect(ok(transition(deleted, { type: 'scim_revive' }, DEFAULT_POLICY))).toEqual({
      status: 'password_required',
      disabledBy: null,
      failedLoginCount: 0,
      effects: ['clear_password', 'send_welcome_email'],
    });
    expect(ok(transition(deleted, { type: 'scim_revive' }, { ...DEFAULT_POLICY, sendWelcomeOnScimCreate: false })).effects).toEqual(['clear_password']);
  });

  it('with a password it is active; with active=false it is disabled by the IdP', () => {
    expect(ok(transition(deleted, { type: 'scim_revive', withPassword: true }, DEFAULT_POLICY))).toMatchObject({ status: 'active', effects: ['set_password'] });
    expect(ok(transition(deleted, { type: 'scim_revive', active: false }, DEFAULT_POLICY))).toMatchObject({ status: 'disabled', disabledBy: 'idp' });
  });

  it('is a no-op for a user that is not deleted, and refused for a purged one', () => {
    const banned: LifecycleUser = { status: 'banned', disabledBy: null, failedLoginCount: 0, hasPassword: true };
    expect(transition(banned, { type: 'scim_revive' }, DEFAULT_POLICY)).toMatchObject({ ok: true, changed: false, status: 'banned' });
    expect(transition({ ...deleted, status: 'purged' }, { type: 'scim_revive' }, DEFAULT_POLICY)).toMatchObject({ ok: false, refusal: { code: 'user_purged' } });
  });
});
