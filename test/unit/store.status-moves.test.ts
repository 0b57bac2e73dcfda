import { describe, expect, it } from 'vitest';
import { DEFAULT_POLICY } from '../../src/lifecycle/policy.ts';
import { statusMoves } from '../../src/store/user-lifecycle.ts';

/** The moves a set-based lifecycle write (the inactivity sweep) may make, read off transition(). */
describe('statusMoves', () => {
  it('reads the inactivity sweep off the transition: active users become inactive, nobody else moves', () => {
    expect(statusMoves({ type: 'inactivity_sweep' }, DEFAULT_POLICY)).toEqual([{ from: 'active', to: 'inactive' }]);
  });

  it('refuses an event whose moves carry effects or other columns: one statement per status cannot write them', () => {
    expect(() => statusMoves({ type: 'force_password_reset' }, DEFAULT_POLICY)).toThrow(/more than a move of the status/);
    expect(() => statusMoves({ type: 'sign_in_failed' }, DEFAULT_POLICY)).toThrow(/more than a move of the status/);
  });

  it('refuses an event the last-admin rule guards: it needs the tenant\'s other admins counted', () => {
    expect(() => statusMoves({ type: 'ban' }, DEFAULT_POLICY)).toThrow(/last-admin/);
  });
});
