import { describe, expect, it } from 'vitest';
import { DEFAULT_POLICY } from '../../src/lifecycle/policy.ts';
import { isDerivedOnCreate, loginsAfterRecycle, loginsAfterReset, nameLogin, NAME_LOGIN_VARIANTS, seatLogin } from '../../src/lifecycle/login.ts';
import { transition, type LifecycleUser, type TransitionOk } from '../../src/lifecycle/transition.ts';

const ID = '3f2a9c1e-7d4b-4c1a-9e0f-1b2c3d4e5f60';
const reset = (derived: boolean): LifecycleUser => ({
  status: 'setup_required',
  disabledBy: null,
  failedLoginCount: 0,
  hasPassword: false,
  ...(derived ? { derivedLogin: { userId: ID } } : {}),
});
const ok = (r: ReturnType<typeof transition>) => {
  if (!r.ok) throw new Error(`refused: ${r.refusal.code}`);
  return r as TransitionOk;
};
const loginEffect = (r: TransitionOk) => r.effects.find((e) => e.type === 'assign_login');

describe('a derived login follows the seat', () => {
  it('is derived on create when no userName is given or the email itself is', () => {
    expect(isDerivedOnCreate(undefined, 'malcolm@acme.test')).toBe(true);
    expect(isDerivedOnCreate('Malcolm@ACME.test', 'malcolm@acme.test')).toBe(true);
    expect(isDerivedOnCreate('mal', 'malcolm@acme.test')).toBe(false);
  });

  it('makes first.last from a name: lower case, accents dropped, other scripts kept, punctuation one dot', () => {
    expect(nameLogin('River', 'Tam')).toBe('river.tam');
    expect(nameLogin(' Zoë ', "O'Brien-Washburne")).toBe('zoe.o.brien.washburne');
    expect(nameLogin('李', '小龙')).toBe('李.小龙');
    expect(nameLogin('--', '...')).toBeNull();
  });

  it('gives a reset seat a placeholder that names nobody and is unique by construction', () => {
    expect(loginsAfterReset(ID)).toEqual([`seat-${ID}`]);
    expect(seatLogin(ID)).toBe(`seat-${ID}`);
  });

  it('recycles to the new email first, then first.last and its numbered variants, then keeps the placeholder', () => {
    const withEmail = loginsAfterRecycle(ID, { firstName: 'River', lastName: 'Tam', email: 'river@acme.test' });
    expect(withEmail[0]).toBe('river@acme.test');
    expect(withEmail.slice(1, 4)).toEqual(['river.tam', 'river.tam.2', 'river.tam.3']);
    expect(withEmail).toHaveLength(1 + NAME_LOGIN_VARIANTS + 1);
    expect(withEmail.at(-1)).toBe(`seat-${ID}`);
    expect(loginsAfterRecycle(ID, { firstName: 'River', lastName: 'Tam', email: null })[0]).toBe('river.tam');
    expect(loginsAfterRecycle(ID, { firstName: '?', lastName: '!', email: null })).toEqual([`seat-${ID}`]);
  });

  it('reset and recycle carry assign_login for a derived login only', () => {
    const active = { ...reset(true), status: 'active' as const, hasPassword: true };
    expect(loginEffect(ok(transition(active, { type: 'reset' }, DEFAULT_POLICY)))).toEqual({ type: 'assign_login', candidates: [`seat-${ID}`] });
    // A reset seat reset again keeps (re-writes) its placeholder.
    expect(loginEffect(ok(transition(reset(true), { type: 'reset' }, DEFAULT_POLICY)))).toEqual({ type: 'assign_login', candidates: [`seat-${ID}`] });
    const recycled = ok(transition(reset(true), { type: 'recycle', firstName: ' River ', lastName: 'Tam', email: ' river@acme.test ' }, DEFAULT_POLICY));
    expect(loginEffect(recycled)).toEqual({ type: 'assign_login', candidates: loginsAfterRecycle(ID, { firstName: 'River', lastName: 'Tam', email: 'river@acme.test' }) });

    // An explicit login (an operator's or an IdP's) stays.
    expect(loginEffect(ok(transition({ ...active, derivedLogin: undefined }, { type: 'reset' }, DEFAULT_POLICY)))).toBeUndefined();
    expect(loginEffect(ok(transition(reset(false), { type: 'recycle', firstName: 'River', lastName: 'Tam' }, DEFAULT_POLICY)))).toBeUndefined();
  });
});
