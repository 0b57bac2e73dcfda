import { describe, expect, it } from 'vitest';
import { DEFAULT_POLICY, type Policy } from '../../src/lifecycle/policy.ts';
import { planReset } from '../../src/lifecycle/reset-plan.ts';
import { STORED_USER_STATUSES, type DisabledBy, type StoredUserStatus } from '../../src/lifecycle/statuses.ts';
import {
  EVENT_TYPES,
  REFUSAL_CODES,
  REFUSALS,
  scimActive,
  transition,
  type Effect,
  type EffectType,
  type LifecycleEvent,
  type LifecycleEventType,
  type LifecycleUser,
  type RefusalCode,
  type TransitionOk,
  type TransitionResult,
} from '../../src/lifecycle/transition.ts';

const THRESHOLD = DEFAULT_POLICY.lockoutThreshold;

function user(status: StoredUserStatus, extra: Partial<LifecycleUser> = {}): LifecycleUser {
  return {
    status,
    disabledBy: status === 'disabled' ? 'operator' : null,
    failedLoginCount: 0,
    hasPassword: status !== 'password_required' && status !== 'setup_required',
    ...extra,
  };
}

/** Rows of the walk: every stored status, disabled split by who disabled it, and "no such user". */
const ROWS = {
  none: null,
  password_required: user('password_required'),
  active: user('active', { failedLoginCount: 3 }),
  inactive: user('inactive'),
  disabled_idp: user('disabled', { disabledBy: 'idp' }),
  disabled_operator: user('disabled', { disabledBy: 'operator' }),
  banned: user('banned'),
  denied: user('denied', { failedLoginCount: THRESHOLD }),
  setup_required: user('setup_required'),
  deleted: user('deleted'),
  purged: user('purged', { hasPassword: false }),
} satisfies Record<string, LifecycleUser | null>;
type Row = keyof typeof ROWS;

/** One representative event per type (the policy variants have their own tests below). */
const EVENTS: { [T in LifecycleEventType]: Extract<LifecycleEvent, { type: T }> } = {
  create: { type: 'create', source: 'admin' },
  checkin: { type: 'checkin' },
  sign_in_succeeded: { type: 'sign_in_succeeded' },
  sign_in_failed: { type: 'sign_in_failed' },
  inactivity_sweep: { type: 'inactivity_sweep' },
  unlock: { type: 'unlock' },
  ban: { type: 'ban' },
  unban: { type: 'unban' },
  disable: { type: 'disable' },
  activate: { type: 'activate' },
  deprovision: { type: 'deprovision', source: 'admin' },
  scim_deactivate: { type: 'scim_deactivate' },
  scim_reactivate: { type: 'scim_reactivate' },
  scim_revive: { type: 'scim_revive' },
  scim_delete: { type: 'scim_delete' },
  delete: { type: 'delete' },
  permanent_delete: { type: 'permanent_delete' },
  reset: { type: 'reset' },
  recycle: { type: 'recycle', firstName: 'Ada', lastName: 'Lovelace', email: 'ada@example.com' },
  password_set: { type: 'password_set' },
  force_password_reset: { type: 'force_password_reset' },
  send_welcome: { type: 'send_welcome' },
};

/**
 * `>status`: ok and changed, ending in status (with disabledBy when it is `disabled:idp|operator`).
 * `=`: ok, nothing changed. `!code`: refused with that code.
 */
type Expected = `>${StoredUserStatus}` | `>disabled:${DisabledBy}` | '=' | `!${RefusalCode}`;

// prettier-ignore
const EXPECTED: { [T in LifecycleEventType]: Record<Row, Expected> } = {
  create: { none: '>password_required', password_required: '!user_exists', active: '!user_exists', inactive: '!user_exists', disabled_idp: '!user_exists', disabled_operator: '!user_exists', banned: '!user_exists', denied: '!user_exists', setup_required: '!user_exists', deleted: '!user_exists', purged: '!user_purged' },
  checkin: { none: '!user_not_found', password_required: '!password_not_set', active: '=', inactive: '>active', disabled_idp: '=', disabled_operator: '=', banned: '!user_banned', denied: '!user_locked', setup_required: '!user_reset', deleted: '=', purged: '!user_purged' },
  sign_in_succeeded: { none: '!user_not_found', password_required: '!password_not_set', active: '>active', inactive: '>active', disabled_idp: '!user_disabled', disabled_operator: '!user_disabled', banned: '!user_banned', denied: '!user_locked', setup_required: '!user_reset', deleted: '!user_deleted', purged: '!user_purged' },
  sign_in_failed: { none: '!user_not_found', password_required: '=', active: '>active', inactive: '>inactive', disabled_idp: '=', disabled_operator: '=', banned: '=', denied: '=', setup_required: '=', deleted: '=', purged: '!user_purged' },
  inactivity_sweep: { none: '!user_not_found', password_required: '=', active: '>inactive', inactive: '=', disabled_idp: '=', disabled_operator: '=', banned: '=', denied: '=', setup_required: '=', deleted: '=', purged: '!user_purged' },
  unlock: { none: '!user_not_found', password_required: '!not_locked', active: '>active', inactive: '=', disabled_idp: '!user_disabled', disabled_operator: '!user_disabled', banned: '!user_banned', denied: '>active', setup_required: '!user_reset', deleted: '!user_deleted', purged: '!user_purged' },
  ban: { none: '!user_not_found', password_required: '>banned', active: '>banned', inactive: '>banned', disabled_idp: '>banned', disabled_operator: '>banned', banned: '=', denied: '>banned', setup_required: '!user_reset', deleted: '!user_deleted', purged: '!user_purged' },
  unban: { none: '!user_not_found', password_required: '=', active: '=', inactive: '=', disabled_idp: '!not_banned', disabled_operator: '!not_banned', banned: '>active', denied: '!not_banned', setup_required: '!not_banned', deleted: '!user_deleted', purged: '!user_purged' },
  disable: { none: '!user_not_found', password_required: '>disabled:operator', active: '>disabled:operator', inactive: '>disabled:operator', disabled_idp: '>disabled:operator', disabled_operator: '=', banned: '!user_banned', denied: '>disabled:operator', setup_required: '!user_reset', deleted: '!user_deleted', purged: '!user_purged' },
  activate: { none: '!user_not_found', password_required: '=', active: '=', inactive: '=', disabled_idp: '>active', disabled_operator: '>active', banned: '!user_banned', denied: '!user_locked', setup_required: '!user_reset', deleted: '!user_deleted', purged: '!user_purged' },
  deprovision: { none: '!user_not_found', password_required: '>disabled:operator', active: '>disabled:operator', inactive: '>disabled:operator', disabled_idp: '>disabled:operator', disabled_operator: '=', banned: '=', denied: '>disabled:operator', setup_required: '=', deleted: '=', purged: '!user_purged' },
  scim_deactivate: { none: '!user_not_found', password_required: '>disabled:idp', active: '>disabled:idp', inactive: '>disabled:idp', disabled_idp: '=', disabled_operator: '=', banned: '=', denied: '>disabled:idp', setup_required: '=', deleted: '=', purged: '!user_purged' },
  scim_reactivate: { none: '!user_not_found', password_required: '=', active: '=', inactive: '=', disabled_idp: '>active', disabled_operator: '=', banned: '=', denied: '=', setup_required: '=', deleted: '=', purged: '!user_purged' },
  scim_revive: { none: '!user_not_found', password_required: '=', active: '=', inactive: '=', disabled_idp: '=', disabled_operator: '=', banned: '=', denied: '=', setup_required: '=', deleted: '>password_required', purged: '!user_purged' },
  scim_delete: { none: '!user_not_found', password_required: '>deleted', active: '>deleted', inactive: '>deleted', disabled_idp: '>deleted', disabled_operator: '>deleted', banned: '>deleted', denied: '>deleted', setup_required: '>deleted', deleted: '=', purged: '!user_purged' },
  delete: { none: '!user_not_found', password_required: '>deleted', active: '>deleted', inactive: '>deleted', disabled_idp: '>deleted', disabled_operator: '>deleted', banned: '>deleted', denied: '>deleted', setup_required: '>deleted', deleted: '=', purged: '!user_purged' },
  permanent_delete: { none: '!user_not_found', password_required: '>purged', active: '>purged', inactive: '>purged', disabled_idp: '>purged', disabled_operator: '>purged', banned: '>purged', denied: '>purged', setup_required: '>purged', deleted: '>purged', purged: '!user_purged' },
  reset: { none: '!user_not_found', password_required: '>setup_required', active: '>setup_required', inactive: '>setup_required', disabled_idp: '>setup_required', disabled_operator: '>setup_required', banned: '>setup_required', denied: '>setup_required', setup_required: '=', deleted: '!user_deleted', purged: '!user_purged' },
  recycle: { none: '!user_not_found', password_required: '!not_reset', active: '!not_reset', inactive: '!not_reset', disabled_idp: '!not_reset', disabled_operator: '!not_reset', banned: '!not_reset', denied: '!not_reset', setup_required: '>password_required', deleted: '!not_reset', purged: '!user_purged' },
  password_set: { none: '!user_not_found', password_required: '>active', active: '!not_awaiting_password', inactive: '!not_awaiting_password', disabled_idp: '!user_disabled', disabled_operator: '!user_disabled', banned: '!user_banned', denied: '!user_locked', setup_required: '!user_reset', deleted: '!user_deleted', purged: '!user_purged' },
  force_password_reset: { none: '!user_not_found', password_required: '=', active: '>password_required', inactive: '>password_required', disabled_idp: '!user_disabled', disabled_operator: '!user_disabled', banned: '!user_banned', denied: '>password_required', setup_required: '!user_reset', deleted: '!user_deleted', purged: '!user_purged' },
  send_welcome: { none: '!user_not_found', password_required: '=', active: '!not_awaiting_password', inactive: '!not_awaiting_password', disabled_idp: '!user_disabled', disabled_operator: '!user_disabled', banned: '!user_banned', denied: '!user_locked', setup_required: '!user_reset', deleted: '!user_deleted', purged: '!user_purged' },
};

function outcome(before: LifecycleUser | null, result: TransitionResult): Expected {
  if (!result.ok) return `!${result.refusal.code}`;
  if (!result.changed) {
    // An unchanged result must really be unchanged.
    expect(before).not.toBeNull();
    expect(result.status).toBe(before?.status);
    expect(result.disabledBy).toBe(before?.disabledBy);
    expect(result.failedLoginCount).toBe(before?.failedLoginCount);
    return '=';
  }
  return result.status === 'disabled' ? `>disabled:${result.disabledBy ?? 'operator'}` : `>${result.status}`;
}

function okResult(result: TransitionResult): TransitionOk {
  if (!result.ok) throw new Error(`expected ok, got refusal ${result.refusal.code}`);
  return result;
}

function refusal(result: TransitionResult): RefusalCode {
  if (result.ok) throw new Error(`expected a refusal, got ok -> ${result.status}`);
  return result.refusal.code;
}

const types = (effects: Effect[]): EffectType[] => effects.map((e) => e.type);
const withPolicy = (overrides: Partial<Policy>): Policy => ({ ...DEFAULT_POLICY, ...overrides });

describe('transition: every (status, event) pair with the default policy', () => {
  it('covers every stored status and every event type', () => {
    const covered = new Set(Object.values(ROWS).flatMap((u) => (u ? [u.status] : [])));
    expect([...covered].sort()).toEqual([...STORED_USER_STATUSES].sort());
    expect(Object.keys(EXPECTED).sort()).toEqual([...EVENT_TYPES].sort());
  });

  for (const type of EVENT_TYPES) {
    for (const row of Object.keys(ROWS) as Row[]) {
      const expected = EXPECTED[type][row];
      it(`${type} on ${row} gives ${expected}`, () => {
        expect(outcome(ROWS[row], transition(ROWS[row], EVENTS[type], DEFAULT_POLICY))).toBe(expected);
      });
    }
  }
});

describe('transition: invariants over the whole grid', () => {
  const results = EVENT_TYPES.flatMap((type) =>
    (Object.keys(ROWS) as Row[]).map((row) => ({ type, row, before: ROWS[row], result: transition(ROWS[row], EVENTS[type], DEFAULT_POLICY) })),
  );

  it('sets disabledBy exactly when the result is disabled', () => {
    for (const { result } of results) {
      if (result.ok) expect(result.disabledBy !== null).toBe(result.status === 'disabled');
    }
  });

  it('refuses everything on a purged user and everything but create when there is no user', () => {
    for (const { row, type, result } of results) {
      if (row === 'purged') expect(refusal(result)).toBe('user_purged');
      if (row === 'none' && type !== 'create') expect(refusal(result)).toBe('user_not_found');
    }
  });

  it('gives every refusal a known code and its human message', () => {
    for (const { result } of results) {
      if (!result.ok) {
        expect(REFUSAL_CODES).toContain(result.refusal.code);
        expect(result.refusal.message).toBe(REFUSALS[result.refusal.code]);
      }
    }
  });

  it('never repeats a destructive effect when nothing changes', () => {
    const destructive: EffectType[] = ['clear_password', 'set_password', 'purge_personal_data', 'assign_person'];
    for (const { type, row, result } of results) {
      if (!result.ok || result.changed) continue;
      for (const t of types(result.effects)) expect(destructive, `${type} on ${row}`).not.toContain(t);
      // The one deliberate exception: resetting a reset seat again clears what new options add.
      if (types(result.effects).includes('clear_reset_data')) expect([type, row]).toEqual(['reset', 'setup_required']);
    }
  });

  it('makes a retried event harmless: applying it again to its own result changes nothing', () => {
    const oneShot: Partial<Record<LifecycleEventType, RefusalCode>> = {
      create: 'user_exists',
      recycle: 'not_reset',
      password_set: 'not_awaiting_password',
      permanent_delete: 'user_purged',
    };
    for (const { type, row, result } of results) {
      if (!result.ok || type === 'sign_in_failed') continue; // failures count by design
      const hasPassword =
        type === 'create' ? false : type === 'password_set' ? true : type === 'force_password_reset' ? false : (ROWS[row]?.hasPassword ?? false);
      const after: LifecycleUser = { ...result, hasPassword };
      const again = transition(after, EVENTS[type], DEFAULT_POLICY);
      const code = oneShot[type];
      if (code) expect(refusal(again), `${type} on ${row}`).toBe(code);
      else expect(okResult(again).changed, `${type} on ${row}`).toBe(false);
    }
  });

  it('can reach every refusal code', () => {
    const seen = new Set(results.flatMap(({ result }) => (result.ok ? [] : [result.refusal.code])));
    const setup = user('setup_required');
    seen.add(refusal(transition(setup, { type: 'recycle', firstName: ' ', lastName: 'X' }, DEFAULT_POLICY)));
    seen.add(refusal(transition(setup, { type: 'recycle', firstName: 'A', lastName: 'B', sendWelcome: true }, DEFAULT_POLICY)));
    expect([...seen].sort()).toEqual([...REFUSAL_CODES].sort());
  });
});

describe('sign-in failures and lockout', () => {
  it(`keeps a user active after threshold-1 failures and denies at exactly the threshold (${THRESHOLD})`, () => {
    let u: LifecycleUser = user('active');
    for (let i = 1; i < THRESHOLD; i++) {
      const r = okResult(transition(u, { type: 'sign_in_failed' }, DEFAULT_POLICY));
      expect(r.status).toBe('active');
      expect(r.failedLoginCount).toBe(i);
      u = { ...u, ...r };
    }
    const locked = okResult(transition(u, { type: 'sign_in_failed' }, DEFAULT_POLICY));
    expect(locked).toMatchObject({ status: 'denied', failedLoginCount: THRESHOLD, changed: true, effects: [] });
  });

  it('honours a tenant threshold', () => {
    const policy = withPolicy({ lockoutThreshold: 3 });
    expect(okResult(transition(user('active', { failedLoginCount: 1 }), { type: 'sign_in_failed' }, policy)).status).toBe('active');
    expect(okResult(transition(user('active', { failedLoginCount: 2 }), { type: 'sign_in_failed' }, policy)).status).toBe('denied');
  });

  it('locks on the next failure when the threshold was lowered below the current count', () => {
    const r = okResult(transition(user('active', { failedLoginCount: 7 }), { type: 'sign_in_failed' }, withPolicy({ lockoutThreshold: 5 })));
    expect(r).toMatchObject({ status: 'denied', failedLoginCount: 8 });
  });

  it('counts failures of an inactive user too, without reactivating it', () => {
    expect(okResult(transition(user('inactive'), { type: 'sign_in_failed' }, DEFAULT_POLICY))).toMatchObject({ status: 'inactive', failedLoginCount: 1 });
    expect(okResult(transition(user('inactive', { failedLoginCount: THRESHOLD - 1 }), { type: 'sign_in_failed' }, DEFAULT_POLICY)).status).toBe('denied');
  });

  it('does not count failures of a denied user any further', () => {
    expect(okResult(transition(ROWS.denied, { type: 'sign_in_failed' }, DEFAULT_POLICY))).toMatchObject({ status: 'denied', failedLoginCount: THRESHOLD, changed: false });
  });

  it('resets the counter on a successful sign-in and records the activity', () => {
    const r = okResult(transition(user('active', { failedLoginCount: 9 }), { type: 'sign_in_succeeded' }, DEFAULT_POLICY));
    expect(r).toMatchObject({ status: 'active', failedLoginCount: 0, changed: true });
    expect(r.effects).toEqual([{ type: 'record_activity', via: 'sign_in' }]);
  });

  it('reports no change for a sign-in of an active user with no failures, but still records activity', () => {
    const r = okResult(transition(user('active'), { type: 'sign_in_succeeded' }, DEFAULT_POLICY));
    expect(r.changed).toBe(false);
    expect(r.effects).toEqual([{ type: 'record_activity', via: 'sign_in' }]);
  });
});

describe('unlock', () => {
  it('returns a denied user to active with the counter cleared and nothing else to do', () => {
    expect(okResult(transition(ROWS.denied, { type: 'unlock' }, DEFAULT_POLICY))).toEqual({
      ok: true, status: 'active', disabledBy: null, failedLoginCount: 0, effects: [], changed: true,
    });
  });

  it('stores a new password and ends old sessions when the operator gives one', () => {
    const r = okResult(transition(ROWS.denied, { type: 'unlock', newPassword: true }, DEFAULT_POLICY));
    expect(r.status).toBe('active');
    expect(types(r.effects)).toEqual(['set_password', 'revoke_sessions']);
  });

  it('clears a partial failure count on an active user without changing its status', () => {
    expect(okResult(transition(user('active', { failedLoginCount: 4 }), { type: 'unlock' }, DEFAULT_POLICY))).toMatchObject({ status: 'active', failedLoginCount: 0, changed: true });
  });
});

describe('inactivity and reactivation', () => {
  it('marks an active user inactive on the sweep, with no effects', () => {
    expect(okResult(transition(user('active'), { type: 'inactivity_sweep' }, DEFAULT_POLICY))).toMatchObject({ status: 'inactive', effects: [], changed: true });
  });

  it.each(['checkin', 'sign_in'] as const)('reactivates an inactive user on %s and records the activity', (via) => {
    const event: LifecycleEvent = via === 'checkin' ? { type: 'checkin' } : { type: 'sign_in_succeeded' };
    const r = okResult(transition(user('inactive'), event, DEFAULT_POLICY));
    expect(r.status).toBe('active');
    expect(r.effects).toEqual([{ type: 'record_activity', via }]);
  });

  it('leaves an inactive user inactive when an operator "activates" it (it leaves on its own)', () => {
    expect(okResult(transition(user('inactive'), { type: 'activate' }, DEFAULT_POLICY))).toMatchObject({ status: 'inactive', changed: false });
  });
});

describe('reconnection of a deleted user (check-in)', () => {
  const deleted = user('deleted');

  it('leave_deleted: stays deleted and its devices are told to clear history', () => {
    const r = okResult(transition(deleted, { type: 'checkin' }, withPolicy({ reconnectionMode: 'leave_deleted' })));
    expect(r).toMatchObject({ status: 'deleted', changed: false });
    expect(types(r.effects)).toEqual(['clear_history_on_devices']);
  });

  it('set_active: becomes active and the check-in counts as activity', () => {
    const r = okResult(transition(deleted, { type: 'checkin' }, withPolicy({ reconnectionMode: 'set_active' })));
    expect(r).toMatchObject({ status: 'active', disabledBy: null, changed: true });
    expect(r.effects).toEqual([{ type: 'record_activity', via: 'checkin' }]);
  });

  it('set_active: a user without a password lands on password_required', () => {
    const r = okResult(transition(user('deleted', { hasPassword: false }), { type: 'checkin' }, withPolicy({ reconnectionMode: 'set_active' })));
    expect(r.status).toBe('password_required');
  });

  it('set_disabled: becomes disabled by an operator (the IdP cannot undo it) and devices clear history', () => {
    const policy = withPolicy({ reconnectionMode: 'set_disabled' });
    const r = okResult(transition(deleted, { type: 'checkin' }, policy));
    expect(r).toMatchObject({ status: 'disabled', disabledBy: 'operator', changed: true });
    expect(types(r.effects)).toEqual(['clear_history_on_devices']);
    expect(okResult(transition({ ...deleted, ...r }, { type: 'scim_reactivate' }, policy)).status).toBe('disabled');
  });

  it.each(['leave_deleted', 'set_active', 'set_disabled'] as const)('%s: a password sign-in of a deleted user is refused', (mode) => {
    expect(refusal(transition(deleted, { type: 'sign_in_succeeded' }, withPolicy({ reconnectionMode: mode })))).toBe('user_deleted');
  });

  it('tells a disabled user\'s device to clear history at check-in without reactivating it', () => {
    const r = okResult(transition(ROWS.disabled_operator, { type: 'checkin' }, DEFAULT_POLICY));
    expect(r).toMatchObject({ status: 'disabled', changed: false });
    expect(types(r.effects)).toEqual(['clear_history_on_devices']);
  });
});

describe('ban, unban, disable, activate', () => {
  it('bans with sessions and device tokens revoked, keeping history (no clear, no deletion)', () => {
    const r = okResult(transition(user('active'), { type: 'ban' }, DEFAULT_POLICY));
    expect(r).toMatchObject({ status: 'banned', disabledBy: null });
    expect(types(r.effects)).toEqual(['revoke_sessions', 'revoke_device_tokens']);
  });

  it('banning a banned user is a no-op with no effects', () => {
    expect(okResult(transition(user('banned'), { type: 'ban' }, DEFAULT_POLICY))).toMatchObject({ changed: false, effects: [] });
  });

  it('unban restores active with a cleared counter, or password_required without a password', () => {
    expect(okResult(transition(user('banned', { failedLoginCount: 4 }), { type: 'unban' }, DEFAULT_POLICY))).toMatchObject({ status: 'active', failedLoginCount: 0, effects: [] });
    expect(okResult(transition(user('banned', { hasPassword: false }), { type: 'unban' }, DEFAULT_POLICY)).status).toBe('password_required');
  });

  it('disables with sessions revoked and devices told to clear history, keeping device tokens', () => {
    const r = okResult(transition(user('active'), { type: 'disable' }, DEFAULT_POLICY));
    expect(r).toMatchObject({ status: 'disabled', disabledBy: 'operator' });
    expect(types(r.effects)).toEqual(['revoke_sessions', 'clear_history_on_devices']);
  });

  it('an operator disabling an IdP-disabled user takes ownership without repeating effects', () => {
    expect(okResult(transition(ROWS.disabled_idp, { type: 'disable' }, DEFAULT_POLICY))).toMatchObject({ status: 'disabled', disabledBy: 'operator', changed: true, effects: [] });
  });

  it('activate re-enables a disabled user, to password_required without a password', () => {
    expect(okResult(transition(ROWS.disabled_operator, { type: 'activate' }, DEFAULT_POLICY))).toMatchObject({ status: 'active', disabledBy: null, effects: [] });
    expect(okResult(transition(user('disabled', { hasPassword: false }), { type: 'activate' }, DEFAULT_POLICY)).status).toBe('password_required');
  });
});

describe('SCIM deactivate per policy.onScimDeactivate', () => {
  it('disable: disabled by the IdP, sessions revoked, history cleared, device tokens kept', () => {
    const r = okResult(transition(user('active'), { type: 'scim_deactivate' }, withPolicy({ onScimDeactivate: 'disable' })));
    expect(r).toMatchObject({ status: 'disabled', disabledBy: 'idp' });
    expect(types(r.effects)).toEqual(['revoke_sessions', 'clear_history_on_devices']);
  });

  it('ban: banned, sessions and device tokens revoked', () => {
    const r = okResult(transition(user('active'), { type: 'scim_deactivate' }, withPolicy({ onScimDeactivate: 'ban' })));
    expect(r).toMatchObject({ status: 'banned', disabledBy: null });
    expect(types(r.effects)).toEqual(['revoke_sessions', 'revoke_device_tokens']);
  });

  it('deprovision: disabled by the IdP with every access revoked and history cleared', () => {
    const r = okResult(transition(user('active'), { type: 'scim_deactivate' }, withPolicy({ onScimDeactivate: 'deprovision' })));
    expect(r).toMatchObject({ status: 'disabled', disabledBy: 'idp' });
    expect(types(r.effects)).toEqual(['revoke_sessions', 'revoke_device_tokens', 'revoke_password_links', 'clear_history_on_devices']);
  });

  it.each(['disable', 'ban', 'deprovision'] as const)('%s: never refuses an existing user (IdP retries stay harmless)', (action) => {
    const policy = withPolicy({ onScimDeactivate: action });
    for (const [row, u] of Object.entries(ROWS)) {
      if (u === null || u.status === 'purged') continue;
      expect(transition(u, { type: 'scim_deactivate' }, policy).ok, row).toBe(true);
    }
  });

  it.each(['disable', 'ban', 'deprovision'] as const)('%s: keeps an operator-disabled user operator-owned', (action) => {
    const r = okResult(transition(ROWS.disabled_operator, { type: 'scim_deactivate' }, withPolicy({ onScimDeactivate: action })));
    expect(r.disabledBy === 'operator' || r.status === 'banned').toBe(true);
  });

  it.each(['disable', 'ban', 'deprovision'] as const)('%s: leaves a reset seat and a deleted user alone', (action) => {
    const policy = withPolicy({ onScimDeactivate: action });
    expect(okResult(transition(user('setup_required'), { type: 'scim_deactivate' }, policy)).status).toBe('setup_required');
    expect(okResult(transition(user('deleted'), { type: 'scim_deactivate' }, policy)).status).toBe('deleted');
  });
});

describe('deprovision', () => {
  const cutOff = ['revoke_sessions', 'revoke_device_tokens', 'revoke_password_links', 'clear_history_on_devices'];

  it('disables (by the IdP or by an operator, per source) and revokes everything', () => {
    const scim = okResult(transition(user('active'), { type: 'deprovision', source: 'scim' }, DEFAULT_POLICY));
    expect(scim).toMatchObject({ status: 'disabled', disabledBy: 'idp' });
    expect(types(scim.effects)).toEqual(cutOff);
    expect(okResult(transition(user('active'), { type: 'deprovision', source: 'admin' }, DEFAULT_POLICY)).disabledBy).toBe('operator');
  });

  it('bans instead when the tenant maps deactivation to ban', () => {
    const r = okResult(transition(user('active'), { type: 'deprovision', source: 'scim' }, withPolicy({ onScimDeactivate: 'ban' })));
    expect(r.status).toBe('banned');
    expect(types(r.effects)).toEqual(cutOff);
  });

  it('turns a merely disabled user into a banned one under the ban mapping', () => {
    expect(okResult(transition(ROWS.disabled_idp, { type: 'deprovision', source: 'admin' }, withPolicy({ onScimDeactivate: 'ban' }))).status).toBe('banned');
  });

  it('revokes again without changing a banned or deleted user (retry-safe)', () => {
    for (const u of [user('banned'), user('deleted')]) {
      const r = okResult(transition(u, { type: 'deprovision', source: 'scim' }, DEFAULT_POLICY));
      expect(r).toMatchObject({ status: u.status, changed: false });
      expect(types(r.effects)).toEqual(cutOff);
    }
  });

  it('has nothing to revoke on a reset seat', () => {
    expect(okResult(transition(user('setup_required'), { type: 'deprovision', source: 'admin' }, DEFAULT_POLICY))).toMatchObject({ changed: false, effects: [] });
  });
});

describe('SCIM reactivate', () => {
  it('re-enables a user the IdP disabled', () => {
    expect(okResult(transition(ROWS.disabled_idp, { type: 'scim_reactivate' }, DEFAULT_POLICY))).toMatchObject({ status: 'active', disabledBy: null, changed: true });
  });

  it('lands on password_required when the IdP-disabled user never set a password', () => {
    expect(okResult(transition(user('disabled', { disabledBy: 'idp', hasPassword: false }), { type: 'scim_reactivate' }, DEFAULT_POLICY)).status).toBe('password_required');
  });

  it.each([
    ['an operator-disabled', ROWS.disabled_operator],
    ['a banned', ROWS.banned],
    ['a denied', ROWS.denied],
    ['a deleted', ROWS.deleted],
  ] as const)('is a no-op for %s user', (_label, u) => {
    expect(okResult(transition(u, { type: 'scim_reactivate' }, DEFAULT_POLICY))).toMatchObject({ status: u.status, changed: false, effects: [] });
  });
});

describe('SCIM delete per policy.onScimDelete', () => {
  it('delete: hidden, sessions and links revoked, devices told to clear history, device tokens kept for reconnection', () => {
    const r = okResult(transition(user('active'), { type: 'scim_delete' }, withPolicy({ onScimDelete: 'delete' })));
    expect(r.status).toBe('deleted');
    expect(types(r.effects)).toEqual(['revoke_sessions', 'revoke_password_links', 'clear_history_on_devices']);
  });

  it('deprovision: disabled by the IdP with every access revoked', () => {
    const r = okResult(transition(user('active'), { type: 'scim_delete' }, withPolicy({ onScimDelete: 'deprovision' })));
    expect(r).toMatchObject({ status: 'disabled', disabledBy: 'idp' });
    expect(types(r.effects)).toContain('revoke_device_tokens');
  });

  it('deprovision under the ban mapping: banned', () => {
    const policy = withPolicy({ onScimDelete: 'deprovision', onScimDeactivate: 'ban' });
    expect(okResult(transition(user('active'), { type: 'scim_delete' }, policy)).status).toBe('banned');
  });

  it('permanent_delete: purged with personal data erased', () => {
    const r = okResult(transition(user('active'), { type: 'scim_delete' }, withPolicy({ onScimDelete: 'permanent_delete' })));
    expect(r).toMatchObject({ status: 'purged', disabledBy: null, failedLoginCount: 0 });
    expect(types(r.effects)).toEqual(['revoke_sessions', 'revoke_device_tokens', 'revoke_password_links', 'purge_personal_data']);
  });

  it('permanent_delete of a deleted user still purges it', () => {
    expect(okResult(transition(user('deleted'), { type: 'scim_delete' }, withPolicy({ onScimDelete: 'permanent_delete' }))).status).toBe('purged');
  });
});

describe('reset and recycle', () => {
  it('resets to setup_required, revoking access and clearing the plan built from the tenant defaults', () => {
    const policy = withPolicy({ defaultResetOptions: { ...DEFAULT_POLICY.defaultResetOptions, voicemailMessages: true } });
    const r = okResult(transition(user('active', { failedLoginCount: 2 }), { type: 'reset', options: { customContacts: true } }, policy));
    expect(r).toMatchObject({ status: 'setup_required', failedLoginCount: 0 });
    expect(r.effects).toEqual([
      { type: 'revoke_sessions' },
      { type: 'revoke_device_tokens' },
      { type: 'revoke_password_links' },
      { type: 'clear_reset_data', plan: planReset({ customContacts: true }, policy.defaultResetOptions) },
    ]);
    const plan = r.effects.find((e) => e.type === 'clear_reset_data');
    expect(plan?.type === 'clear_reset_data' && plan.plan.clearUserDataKinds).toEqual(['voicemail_message', 'custom_contact']);
  });

  it('re-resetting a reset seat only clears data again, without revocations', () => {
    const r = okResult(transition(user('setup_required'), { type: 'reset', options: { unassignPhoneNumber: true } }, DEFAULT_POLICY));
    expect(r.changed).toBe(false);
    expect(types(r.effects)).toEqual(['clear_reset_data']);
  });

  it('recycles a reset seat to password_required with the new person and an optional welcome email', () => {
    const r = okResult(
      transition(user('setup_required'), { type: 'recycle', firstName: ' Grace ', lastName: 'Hopper ', email: ' grace@example.com ', sendWelcome: true }, DEFAULT_POLICY),
    );
    expect(r.status).toBe('password_required');
    expect(r.effects).toEqual([
      { type: 'assign_person', firstName: 'Grace', lastName: 'Hopper', email: 'grace@example.com' },
      { type: 'send_welcome_email' },
    ]);
  });

  it('recycles without an email when none is given and no welcome is asked', () => {
    const r = okResult(transition(user('setup_required'), { type: 'recycle', firstName: 'A', lastName: 'B', email: '  ' }, DEFAULT_POLICY));
    expect(r.effects).toEqual([{ type: 'assign_person', firstName: 'A', lastName: 'B', email: null }]);
  });

  it.each(STORED_USER_STATUSES.filter((s) => s !== 'setup_required' && s !== 'purged'))('refuses to recycle a %s user that was not reset', (status) => {
    expect(refusal(transition(user(status), EVENTS.recycle, DEFAULT_POLICY))).toBe('not_reset');
  });

  it('refuses a recycle without first and last name', () => {
    expect(refusal(transition(user('setup_required'), { type: 'recycle', firstName: 'A', lastName: '' }, DEFAULT_POLICY))).toBe('name_required');
    expect(refusal(transition(user('setup_required'), { type: 'recycle', firstName: '', lastName: 'B' }, DEFAULT_POLICY))).toBe('name_required');
  });

  it('refuses a welcome email on recycle without an email address', () => {
    expect(refusal(transition(user('setup_required'), { type: 'recycle', firstName: 'A', lastName: 'B', sendWelcome: true }, DEFAULT_POLICY))).toBe('email_required');
  });
});

describe('passwords', () => {
  it('a password set from a link activates the user and retires every outstanding link', () => {
    const r = okResult(transition(user('password_required'), { type: 'password_set' }, DEFAULT_POLICY));
    expect(r).toMatchObject({ status: 'active', failedLoginCount: 0 });
    expect(types(r.effects)).toEqual(['set_password', 'revoke_password_links']);
  });

  it('forcing a password reset clears the password and revokes sessions, tokens and old links', () => {
    const r = okResult(transition(user('active'), { type: 'force_password_reset' }, DEFAULT_POLICY));
    expect(r.status).toBe('password_required');
    expect(types(r.effects)).toEqual(['clear_password', 'revoke_sessions', 'revoke_device_tokens', 'revoke_password_links']);
  });

  it('sends a recovery email after the revocations when asked', () => {
    const r = okResult(transition(user('active'), { type: 'force_password_reset', sendRecoveryEmail: true }, DEFAULT_POLICY));
    expect(types(r.effects).at(-1)).toBe('send_recovery_email');
  });

  it('a forced reset of a locked user unlocks it into password_required', () => {
    expect(okResult(transition(ROWS.denied, { type: 'force_password_reset' }, DEFAULT_POLICY))).toMatchObject({ status: 'password_required', failedLoginCount: 0 });
  });

  it('on a user already waiting for a password, only (re)sends the link and revokes nothing', () => {
    const r = okResult(transition(user('password_required'), { type: 'force_password_reset', sendRecoveryEmail: true }, DEFAULT_POLICY));
    expect(r).toMatchObject({ changed: false, effects: [{ type: 'send_recovery_email' }] });
  });

  it('sends a welcome email only to a user waiting for a password', () => {
    expect(okResult(transition(user('password_required'), { type: 'send_welcome' }, DEFAULT_POLICY)).effects).toEqual([{ type: 'send_welcome_email' }]);
  });
});

describe('create', () => {
  it('creates a user from the admin API as password_required with a welcome email by default', () => {
    expect(transition(null, { type: 'create', source: 'admin' }, DEFAULT_POLICY)).toEqual({
      ok: true, status: 'password_required', disabledBy: null, failedLoginCount: 0, effects: [{ type: 'send_welcome_email' }], changed: true,
    });
  });

  it('skips the welcome email when the operator says so', () => {
    expect(okResult(transition(null, { type: 'create', source: 'admin', sendWelcome: false }, DEFAULT_POLICY)).effects).toEqual([]);
  });

  it('follows policy.sendWelcomeOnScimCreate for SCIM creates', () => {
    expect(types(okResult(transition(null, { type: 'create', source: 'scim' }, DEFAULT_POLICY)).effects)).toEqual(['send_welcome_email']);
    expect(okResult(transition(null, { type: 'create', source: 'scim' }, withPolicy({ sendWelcomeOnScimCreate: false }))).effects).toEqual([]);
  });

  it('creates an active user, with no welcome email, when the IdP sends a password', () => {
    const r = okResult(transition(null, { type: 'create', source: 'scim', withPassword: true }, DEFAULT_POLICY));
    expect(r.status).toBe('active');
    expect(types(r.effects)).toEqual(['set_password']);
  });

  it('creates a disabled user, owned by its source, when created with active=false', () => {
    expect(okResult(transition(null, { type: 'create', source: 'scim', active: false }, DEFAULT_POLICY))).toMatchObject({ status: 'disabled', disabledBy: 'idp', effects: [] });
    expect(okResult(transition(null, { type: 'create', source: 'admin', active: false }, DEFAULT_POLICY)).disabledBy).toBe('operator');
  });
});

describe('scimActive', () => {
  it('is true exactly for active, inactive and password_required', () => {
    expect(STORED_USER_STATUSES.filter(scimActive)).toEqual(['password_required', 'active', 'inactive']);
  });
});
