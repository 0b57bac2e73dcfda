import { describe, expect, it } from 'vitest';
import { DEFAULT_POLICY, RESET_OPTION_KEYS, type ResetOptionKey, type ResetOptions } from '../../src/lifecycle/policy.ts';
import {
  ALWAYS_CLEARED,
  CLEARABLE_USER_DATA_KINDS,
  DEFAULT_ANSWERING_RULE,
  RESET_OUTCOME_LINE,
  SHARED_CONTACT_KIND,
  describeReset,
  planReset,
  type ClearableUserDataKind,
} from '../../src/lifecycle/reset-plan.ts';

const ALL_ON = Object.fromEntries(RESET_OPTION_KEYS.map((k) => [k, true])) as ResetOptions;
const ALL_OFF = Object.fromEntries(RESET_OPTION_KEYS.map((k) => [k, false])) as ResetOptions;

describe('planReset defaults', () => {
  it('with no options clears only the always-cleared items: name, email, password, PIN, soft phones, app sessions', () => {
    const plan = planReset({});
    expect(plan.items.map((i) => i.key)).toEqual(['name', 'email', 'password', 'pin', 'soft_phones', 'app_sessions']);
    expect(plan.items.every((i) => i.always && i.userDataKinds.length === 0)).toBe(true);
    expect(plan).toMatchObject({
      options: ALL_OFF,
      clearUserDataKinds: [],
      restoreDefaultAnsweringRule: false,
      unassignPhoneNumber: false,
      removeDeviceLines: false,
    });
  });

  it('the policy default options select nothing optional', () => {
    expect(planReset({}, DEFAULT_POLICY.defaultResetOptions).options).toEqual(ALL_OFF);
  });

  it('takes unspecified options from the tenant defaults', () => {
    const plan = planReset({ customContacts: true }, { ...ALL_OFF, voicemailMessages: true });
    expect(plan.items.filter((i) => !i.always).map((i) => i.key)).toEqual(['voicemailMessages', 'customContacts']);
  });

  it('lets an explicit false override a default true, and ignores undefined', () => {
    const defaults = { ...ALL_OFF, voicemailGreetings: true, answeringRules: true };
    const plan = planReset({ voicemailGreetings: false, answeringRules: undefined }, defaults);
    expect(plan.options).toMatchObject({ voicemailGreetings: false, answeringRules: true });
  });

  it('rejects a non-boolean option value', () => {
    expect(() => planReset({ voicemailMessages: 'yes' as unknown as boolean })).toThrow();
  });
});

describe('planReset options, one at a time', () => {
  const cases: Record<ResetOptionKey, { kinds: ClearableUserDataKind[]; flags: Partial<Record<'restoreDefaultAnsweringRule' | 'unassignPhoneNumber' | 'removeDeviceLines', true>>; mentions: RegExp[] }> = {
    voicemailMessages: { kinds: ['voicemail_message'], flags: {}, mentions: [/new/, /saved/, /trash/] },
    voicemailGreetings: { kinds: ['voicemail_greeting'], flags: {}, mentions: [/time-based/, /recorded name/] },
    answeringRules: { kinds: ['answering_rule'], flags: { restoreDefaultAnsweringRule: true }, mentions: [/default rule/, /rings the user's devices/] },
    customContacts: { kinds: ['custom_contact'], flags: {}, mentions: [/own contacts/, /shared contacts are left untouched/] },
    unassignPhoneNumber: { kinds: [], flags: { unassignPhoneNumber: true }, mentions: [/inventory/, /available/] },
    removeDeviceLines: { kinds: [], flags: { removeDeviceLines: true }, mentions: [/MAC/, /soft phones/, /mobile apps/] },
  };

  for (const key of RESET_OPTION_KEYS) {
    const { kinds, flags, mentions } = cases[key];
    it(`${key}: adds one item clearing [${kinds.join(', ')}] and sets only its own flags`, () => {
      const plan = planReset({ [key]: true });
      const optional = plan.items.filter((i) => !i.always);
      expect(optional.map((i) => i.key)).toEqual([key]);
      expect(optional[0]?.userDataKinds).toEqual(kinds);
      expect(plan.clearUserDataKinds).toEqual(kinds);
      expect({
        restoreDefaultAnsweringRule: plan.restoreDefaultAnsweringRule || undefined,
        unassignPhoneNumber: plan.unassignPhoneNumber || undefined,
        removeDeviceLines: plan.removeDeviceLines || undefined,
      }).toEqual({ restoreDefaultAnsweringRule: undefined, unassignPhoneNumber: undefined, removeDeviceLines: undefined, ...flags });
      for (const m of mentions) expect(optional[0]?.description).toMatch(m);
    });
  }
});

describe('planReset with every option', () => {
  const plan = planReset(ALL_ON);

  it('clears every clearable user-data kind, in option order, and never shared contacts', () => {
    expect(plan.clearUserDataKinds).toEqual([...CLEARABLE_USER_DATA_KINDS]);
    expect(plan.clearUserDataKinds).not.toContain(SHARED_CONTACT_KIND);
  });

  it('lists the always-cleared items first, then every option in RESET_OPTION_KEYS order', () => {
    expect(plan.items.map((i) => i.key)).toEqual([...ALWAYS_CLEARED, ...RESET_OPTION_KEYS]);
  });

  it('is plain JSON (it travels in task payloads)', () => {
    expect(JSON.parse(JSON.stringify(plan))).toEqual(plan);
  });
});

describe('describeReset', () => {
  it('gives one human line per item, then what the seat becomes', () => {
    const plan = planReset({ voicemailMessages: true, unassignPhoneNumber: true });
    const lines = describeReset(plan);
    expect(lines).toHaveLength(plan.items.length + 1);
    expect(lines.slice(0, -1)).toEqual(plan.items.map((i) => i.description));
    expect(lines.at(-1)).toBe(RESET_OUTCOME_LINE);
    expect(RESET_OUTCOME_LINE).toMatch(/setup required.*extension/);
  });

  it('names each always-cleared item so an operator knows what will be lost', () => {
    const lines = describeReset(planReset({})).join('\n');
    for (const word of [/first, last and display name/, /email/, /password/, /PIN/, /soft phones/, /app/]) expect(lines).toMatch(word);
  });

  it('gives every item a distinct, non-empty description', () => {
    const descriptions = planReset(ALL_ON).items.map((i) => i.description);
    expect(new Set(descriptions).size).toBe(descriptions.length);
    expect(descriptions.every((d) => d.length > 10)).toBe(true);
  });
});

describe('DEFAULT_ANSWERING_RULE', () => {
  it('is the frozen "ring my devices" rule put back after answering rules are deleted', () => {
    expect(DEFAULT_ANSWERING_RULE).toEqual({ name: 'Ring my devices', isDefault: true, when: 'always', action: 'ring_devices', devices: 'all' });
    expect(Object.isFrozen(DEFAULT_ANSWERING_RULE)).toBe(true);
  });
});
