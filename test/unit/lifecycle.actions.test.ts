import { describe, expect, it } from 'vitest';
import { ACTIONS, OPERATOR_ACTIONS, actionLine, allowedActions, planOperation, takesOptions, type OperatorAction } from '../../src/lifecycle/actions.ts';
import { DEFAULT_POLICY, resolvePolicy } from '../../src/lifecycle/policy.ts';
import { STORED_USER_STATUSES, USER_STATUSES, type DisabledBy, type UserStatus } from '../../src/lifecycle/statuses.ts';
import { readTaskPayload, TASK_TYPES } from '../../src/lifecycle/tasks.ts';
import { RECONNECTION_MODES, SCIM_DELETE_ACTIONS } from '../../src/lifecycle/policy.ts';
import { clearsHistory, scimDeleteErases, transition, type LifecycleUser } from '../../src/lifecycle/transition.ts';

const A = '0b9f6a52-3f5e-4d3a-9a57-1e2f3a4b5c6d';
const B = '1c8e7b63-4a6f-4e4b-8b68-2f3a4b5c6d7e';

function user(status: UserStatus, extra: Partial<LifecycleUser> = {}): LifecycleUser {
  return { status, disabledBy: status === 'disabled' ? 'operator' : null, failedLoginCount: 0, hasPassword: status === 'active' || status === 'inactive', ...extra };
}

describe('the actions table', () => {
  it('declares the actions of the admin API, each on a task type of the registry', () => {
    expect(OPERATOR_ACTIONS).toEqual([
      'ban', 'unban', 'disable', 'activate', 'unlock', 'delete', 'permanent_delete', 'reset', 'recycle', 'welcome_email', 'force_password_reset', 'deprovision',
    ]);
    for (const action of OPERATOR_ACTIONS) expect(TASK_TYPES).toContain(ACTIONS[action].taskType);
    expect(ACTIONS.permanent_delete.taskType).toBe('purge');
    expect(OPERATOR_ACTIONS.filter((a) => ACTIONS[a].irreversible)).toEqual(['permanent_delete', 'reset', 'recycle', 'deprovision']);
    expect(OPERATOR_ACTIONS.filter(takesOptions)).toEqual(['reset', 'recycle', 'force_password_reset', 'deprovision']);
  });

  it("gives every action the console's label and a line for the dry run", () => {
    expect(Object.fromEntries(OPERATOR_ACTIONS.map((a) => [a, ACTIONS[a].label]))).toEqual({
      ban: 'Ban',
      unban: 'Unban',
      disable: 'Disable',
      activate: 'Activate',
      unlock: 'Unlock',
      delete: 'Delete',
      permanent_delete: 'Permanently Delete',
      reset: 'Reset',
      recycle: 'Recycle',
      welcome_email: 'Send Welcome Email',
      force_password_reset: 'Force Password Reset',
      deprovision: 'Deprovision',
    });
    expect(actionLine('ban')).toBe('Ban: block every access; all history is kept');
    expect(actionLine('deprovision')).toBe('Deprovision: cut off every access at once (sessions, device tokens, set-password links)');
  });

  it('turns each request into the payload its task type takes, and the event the task applies', () => {
    const plan = (action: OperatorAction, request: object) => {
      const planned = planOperation(action, { action, userIds: [A, B], ...request }, [A, B]);
      // What the runner will read back from the task rows fits the registry.
      for (const task of planned.tasks) expect(readTaskPayload(planned.taskType, JSON.parse(JSON.stringify(task.payload)))).toEqual({ ok: true, payload: task.payload });
      return { taskType: planned.taskType, payload: planned.tasks[0]!.payload, event: planned.tasks[0]!.event, recorded: planned.recorded, resetOptions: planned.resetOptions };
    };
    expect(plan('ban', {})).toEqual({ taskType: 'ban', payload: {}, event: { type: 'ban' }, recorded: {}, resetOptions: undefined });
    expect(plan('disable', { options: {} })).toMatchObject({ taskType: 'disable', payload: { by: 'operator' }, event: { type: 'disable' } });
    expect(plan('activate', {})).toMatchObject({ payload: { by: 'operator' }, event: { type: 'activate' } });
    expect(plan('permanent_delete', {})).toMatchObject({ taskType: 'purge', payload: {}, event: { type: 'permanent_delete' } });
    expect(plan('welcome_email', {})).toMatchObject({ taskType: 'welcome_email', payload: { purpose: 'welcome' }, event: { type: 'send_welcome' } });
    expect(plan('force_password_reset', {})).toMatchObject({ payload: { sendRecoveryEmail: true }, event: { type: 'force_password_reset', sendRecoveryEmail: true } });
    expect(plan('force_password_reset', { options: { sendRecoveryEmail: false } })).toMatchObject({
      payload: { sendRecoveryEmail: false },
      recorded: { sendRecoveryEmail: false },
    });
    expect(plan('reset', { options: { voicemailMessages: true } })).toEqual({
      taskType: 'reset',
      payload: { options: { voicemailMessages: true } },
      event: { type: 'reset', options: { voicemailMessages: true } },
      recorded: { voicemailMessages: true },
      resetOptions: { voicemailMessages: true },
    });
    const handOver = plan('reset', { handOver: { users: { [A.toUpperCase()]: { firstName: ' Zoe ', lastName: 'Washburne' }, [B]: { firstName: 'Kaylee', lastName: 'Frye', email: 'kaylee@example.org' } } } });
    expect(handOver).toMatchObject({ payload: { options: {}, handOverTo: { firstName: 'Zoe', lastName: 'Washburne' } }, recorded: { handOver: 2 } });
    const recycle = planOperation('recycle', { options: { users: { [A]: { firstName: 'Simon', lastName: 'Tam', sendWelcome: false }, [B]: { firstName: 'River', lastName: 'Tam', email: 'river@example.org', sendWelcome: true } } } }, [A, B]);
    expect(recycle.tasks.map((t) => [t.payload, t.event])).toEqual([
      [{ firstName: 'Simon', lastName: 'Tam', sendWelcome: false }, { type: 'recycle', firstName: 'Simon', lastName: 'Tam', email: null, sendWelcome: false }],
      [{ firstName: 'River', lastName: 'Tam', email: 'river@example.org', sendWelcome: true }, { type: 'recycle', firstName: 'River', lastName: 'Tam', email: 'river@example.org', sendWelcome: true }],
    ]);
    // The new people's names stay out of the operation row and the audit trail.
    expect(recycle.recorded).toEqual({ users: 2 });
    expect(plan('deprovision', {})).toMatchObject({ payload: { source: 'operator' }, event: { type: 'deprovision', source: 'admin' }, resetOptions: undefined });
    expect(plan('deprovision', { options: { chainReset: true, resetOptions: { customContacts: true } } })).toMatchObject({
      payload: { source: 'operator', chainReset: true, resetOptions: { customContacts: true } },
      resetOptions: { customContacts: true },
    });
  });

  it('builds the event a deprovision task applies for any of its payloads, as the job does', () => {
    expect(ACTIONS.deprovision.event({ source: 'scim' })).toEqual({ type: 'deprovision', source: 'scim' });
    expect(ACTIONS.deprovision.event({ source: 'schedule' })).toEqual({ type: 'deprovision', source: 'admin' });
    expect(ACTIONS.deprovision.event({ source: 'scim', idpEvent: 'scim_delete' })).toEqual({ type: 'scim_delete' });
  });
});

describe('allowed actions', () => {
  const offered = (u: LifecycleUser) => allowedActions(u, DEFAULT_POLICY);

  it("offers per status what the user's page offers, and the effects that apply", () => {
    const expected: Record<UserStatus, OperatorAction[]> = {
      password_required: ['ban', 'disable', 'delete', 'permanent_delete', 'reset', 'welcome_email', 'force_password_reset', 'deprovision'],
      active: ['ban', 'disable', 'delete', 'permanent_delete', 'reset', 'force_password_reset', 'deprovision'],
      inactive: ['ban', 'disable', 'delete', 'permanent_delete', 'reset', 'force_password_reset', 'deprovision'],
      disabled: ['ban', 'activate', 'delete', 'permanent_delete', 'reset', 'deprovision'],
      banned: ['unban', 'delete', 'permanent_delete', 'reset', 'deprovision'],
      denied: ['ban', 'disable', 'unlock', 'delete', 'permanent_delete', 'reset', 'force_password_reset', 'deprovision'],
      setup_required: ['delete', 'permanent_delete', 'recycle'],
      deleted: ['permanent_delete', 'deprovision'],
    };
    for (const status of USER_STATUSES) expect(offered(user(status)), status).toEqual(expected[status]);
    for (const by of ['idp', 'operator'] satisfies DisabledBy[]) expect(offered(user('disabled', { disabledBy: by })), by).toEqual(expected.disabled);
  });

  it('offers nothing to a purged tombstone, and no unlock for a failed-login count alone', () => {
    expect(allowedActions({ ...user('active'), status: 'purged' }, DEFAULT_POLICY)).toEqual([]);
    expect(offered(user('active', { failedLoginCount: 3 }))).not.toContain('unlock');
  });

  it('asks the tenant policy: a deprovision still cuts a user off when it bans', () => {
    const banning = resolvePolicy({ onScimDeactivate: 'ban' });
    expect(allowedActions(user('active'), banning)).toContain('deprovision');
    expect(allowedActions(user('setup_required'), banning)).not.toContain('deprovision');
  });
});

describe('decisions the lifecycle makes once', () => {
  it('tells devices to clear their history exactly when a check-in leaves the user disabled or deleted', () => {
    for (const mode of RECONNECTION_MODES) {
      const policy = resolvePolicy({ reconnectionMode: mode });
      for (const status of STORED_USER_STATUSES) {
        const result = transition({ ...user('active'), status, disabledBy: status === 'disabled' ? 'idp' : null }, { type: 'checkin' }, policy);
        if (result.ok) expect(clearsHistory(result), `${mode} ${status}`).toBe(result.status === 'disabled' || result.status === 'deleted');
      }
    }
  });

  it('knows that an IdP DELETE erases the user only under onScimDelete permanent_delete', () => {
    expect(SCIM_DELETE_ACTIONS.filter((action) => scimDeleteErases(resolvePolicy({ onScimDelete: action })))).toEqual(['permanent_delete']);
  });
});

describe('the task registry', () => {
  it('reads a task payload through its type: defaults filled, unknown keys dropped, a malformed one named', () => {
    expect(readTaskPayload('reset', {})).toEqual({ ok: true, payload: { options: {} } });
    expect(readTaskPayload('ban', { stray: 1 })).toEqual({ ok: true, payload: {} });
    expect(readTaskPayload('recycle', { firstName: 'Simon', lastName: 'Tam', email: null })).toEqual({ ok: true, payload: { firstName: 'Simon', lastName: 'Tam', email: null } });
    const bad = readTaskPayload('recycle', { lastName: 'Tam' });
    expect(bad.ok).toBe(false);
    expect(bad.ok ? '' : bad.problem).toMatch(/^firstName: /);
    expect(readTaskPayload('welcome_email', { purpose: 'spam' }).ok).toBe(false);
  });
});
