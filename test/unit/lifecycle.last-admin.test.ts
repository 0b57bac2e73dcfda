import { describe, expect, it } from 'vitest';
import { LAST_ADMIN_REFUSAL, canAdminister, guardsLastAdmin, removesLastAdmin, takesAwayAdmin } from '../../src/lifecycle/last-admin.ts';
import { STORED_USER_STATUSES, USER_ROLES } from '../../src/lifecycle/statuses.ts';
import { EVENT_TYPES, type LifecycleEvent } from '../../src/lifecycle/transition.ts';

describe('the last admin', () => {
  it('counts admins who can sign in now: role admin, active or inactive', () => {
    for (const role of USER_ROLES) {
      for (const status of STORED_USER_STATUSES) {
        expect(canAdminister({ role, status }), `${role} ${status}`).toBe(role === 'admin' && (status === 'active' || status === 'inactive'));
      }
    }
  });

  it('takes an admin away when the change ends their ability to administer: status or role', () => {
    expect(takesAwayAdmin({ role: 'admin', status: 'active' }, { role: 'admin', status: 'disabled' })).toBe(true);
    expect(takesAwayAdmin({ role: 'admin', status: 'inactive' }, { role: 'admin', status: 'purged' })).toBe(true);
    expect(takesAwayAdmin({ role: 'admin', status: 'active' }, { role: 'office_manager', status: 'active' })).toBe(true);
    expect(takesAwayAdmin({ role: 'admin', status: 'active' }, { role: 'admin', status: 'inactive' })).toBe(false);
    // Nothing to take away from an admin who cannot sign in, or from anyone else.
    expect(takesAwayAdmin({ role: 'admin', status: 'disabled' }, { role: 'admin', status: 'banned' })).toBe(false);
    expect(takesAwayAdmin({ role: 'office_manager', status: 'active' }, { role: 'office_manager', status: 'banned' })).toBe(false);
  });

  it('guards the operator events that cut access, not IdP events, a forced password reset or a lockout', () => {
    const guarded = EVENT_TYPES.filter((type) => guardsLastAdmin({ type, source: 'admin' } as LifecycleEvent));
    expect(guarded.sort()).toEqual(['ban', 'delete', 'deprovision', 'disable', 'permanent_delete', 'reset']);
    expect(guardsLastAdmin({ type: 'deprovision', source: 'scim' })).toBe(false);
  });

  it('refuses when the change takes at least one admin away and none other remains', () => {
    expect(removesLastAdmin(1, 0)).toBe(true);
    expect(removesLastAdmin(2, 0)).toBe(true);
    expect(removesLastAdmin(1, 1)).toBe(false);
    expect(removesLastAdmin(0, 0)).toBe(false);
    expect(LAST_ADMIN_REFUSAL).toEqual({ code: 'last_admin', message: expect.stringMatching(/without an admin/) });
  });
});
