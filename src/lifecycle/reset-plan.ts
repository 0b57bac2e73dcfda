/**
 * What a reset clears (DESIGN.md §2 "Reset options"), as data: the reset job applies the plan, the
 * admin API's dry run shows `describeReset(plan)` under "The following actions will take place".
 *
 * Always cleared: name (first, last, display), email, password, PIN, soft phones and app sessions,
 * so the seat keeps nothing of the person who left. Everything else is opt-in because it may be
 * worth keeping for the next person on the same extension (greetings, rules, the number).
 * Never touched: extension, department, role, configuration, and shared contacts (they belong to
 * the whole tenant, not to the user).
 */
import { RESET_OPTION_KEYS, resetOptionsSchema, type ResetOptionKey, type ResetOptions } from './policy.ts';

/** Items every reset clears; not options. */
export const ALWAYS_CLEARED = ['name', 'email', 'password', 'pin', 'soft_phones', 'app_sessions'] as const;
export type AlwaysClearedItem = (typeof ALWAYS_CLEARED)[number];
export type ResetItemKey = AlwaysClearedItem | ResetOptionKey;

/** User-data kinds a reset may delete (the user's own rows of these kinds only). */
export const CLEARABLE_USER_DATA_KINDS = [
  'voicemail_message',
  'voicemail_greeting',
  'answering_rule',
  'custom_contact',
] as const;
export type ClearableUserDataKind = (typeof CLEARABLE_USER_DATA_KINDS)[number];

/** Tenant-wide contacts; no reset option ever deletes them. */
export const SHARED_CONTACT_KIND = 'shared_contact' as const;

/** The rule put back after "answering rules" are deleted: ring all of the user's devices, always. */
export interface AnsweringRulePayload {
  readonly name: string;
  readonly isDefault: true;
  readonly when: 'always';
  readonly action: 'ring_devices';
  readonly devices: 'all';
}
export const DEFAULT_ANSWERING_RULE: AnsweringRulePayload = Object.freeze({
  name: 'Ring my devices',
  isDefault: true,
  when: 'always',
  action: 'ring_devices',
  devices: 'all',
});

export interface ResetPlanItem {
  readonly key: ResetItemKey;
  /** True for the items every reset clears, false for a selected option. */
  readonly always: boolean;
  /** One human line for the dry run. */
  readonly description: string;
  /** User-data rows of these kinds (the user's own) are deleted by this item. */
  readonly userDataKinds: readonly ClearableUserDataKind[];
}

/** Plain, JSON-serialisable: it travels in task payloads and effects. */
export interface ResetPlan {
  /** The options after defaults were applied. */
  readonly options: ResetOptions;
  /** Everything the reset clears, always-cleared items first, then options in RESET_OPTION_KEYS order. */
  readonly items: readonly ResetPlanItem[];
  /** Union of the items' user-data kinds: delete the user's rows of exactly these kinds. */
  readonly clearUserDataKinds: readonly ClearableUserDataKind[];
  /** After deleting answering rules, insert DEFAULT_ANSWERING_RULE. */
  readonly restoreDefaultAnsweringRule: boolean;
  /** Give the user's number back to the inventory as available (the number itself is kept). */
  readonly unassignPhoneNumber: boolean;
  /** Remove the user's lines from physical phones (by MAC), soft phones and mobile apps. */
  readonly removeDeviceLines: boolean;
}

const ALWAYS_DESCRIPTIONS: Record<AlwaysClearedItem, string> = {
  name: 'Clear the first, last and display name',
  email: 'Clear the email address',
  password: 'Clear the password',
  pin: 'Clear the voicemail PIN',
  soft_phones: "Remove the user's soft phones",
  app_sessions: 'Sign the user out of every app (app sessions and device tokens are revoked)',
};

const OPTION_ITEMS: Record<ResetOptionKey, { description: string; userDataKinds: readonly ClearableUserDataKind[] }> = {
  voicemailMessages: {
    description: 'Delete every voicemail message in the new, saved and trash folders',
    userDataKinds: ['voicemail_message'],
  },
  voicemailGreetings: {
    description: 'Delete every voicemail greeting, including time-based greetings and the recorded name',
    userDataKinds: ['voicemail_greeting'],
  },
  answeringRules: {
    description: "Delete every answering rule, then restore the default rule that rings the user's devices",
    userDataKinds: ['answering_rule'],
  },
  customContacts: {
    description: "Delete the user's own contacts (shared contacts are left untouched)",
    userDataKinds: ['custom_contact'],
  },
  unassignPhoneNumber: {
    description: "Unassign the user's phone number; it stays in the inventory as an available number",
    userDataKinds: [],
  },
  removeDeviceLines: {
    description: "Remove the user's lines from physical phones (by MAC address), soft phones and mobile apps",
    userDataKinds: [],
  },
};

/** The last line of a dry run: what the seat becomes and what it keeps. */
export const RESET_OUTCOME_LINE =
  'Set the status to setup required; the extension, department, role and configuration are kept';

/**
 * The plan for one reset. Each option is taken from `options` when given (true or false), else from
 * `defaults` (the tenant's `defaultResetOptions`), else false. Throws (ZodError) on a non-boolean
 * value: callers validate request bodies first, so that is a programming error.
 */
export function planReset(options: Partial<ResetOptions>, defaults?: Partial<ResetOptions>): ResetPlan {
  const merged = resetOptionsSchema.parse(
    Object.fromEntries(RESET_OPTION_KEYS.map((key) => [key, options[key] ?? defaults?.[key] ?? false])),
  );
  const items: ResetPlanItem[] = [
    ...ALWAYS_CLEARED.map((key) => ({ key, always: true, description: ALWAYS_DESCRIPTIONS[key], userDataKinds: [] })),
    ...RESET_OPTION_KEYS.filter((key) => merged[key]).map((key) => ({ key, always: false, ...OPTION_ITEMS[key] })),
  ];
  return {
    options: merged,
    items,
    clearUserDataKinds: items.flatMap((item) => item.userDataKinds),
    restoreDefaultAnsweringRule: merged.answeringRules,
    unassignPhoneNumber: merged.unassignPhoneNumber,
    removeDeviceLines: merged.removeDeviceLines,
  };
}

/** The human lines of a plan, in order, ending with what the seat becomes. */
export function describeReset(plan: ResetPlan): string[] {
  return [...plan.items.map((item) => item.description), RESET_OUTCOME_LINE];
}
