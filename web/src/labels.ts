import type { components } from './api/schema';

export type User = components['schemas']['User'];
export type UserStatus = User['status'];

/**
 * The portal's own words for each status, and a colour for its badge. The actions' words come from
 * the admin API (api/actions.ts), where each action is declared.
 */
export const STATUS_LABELS: Record<UserStatus, { label: string; color: string }> = {
  active: { label: 'Active', color: 'green' },
  password_required: { label: 'Password Required', color: 'yellow' },
  setup_required: { label: 'Setup Required', color: 'orange' },
  inactive: { label: 'Inactive', color: 'gray' },
  disabled: { label: 'Disabled', color: 'dark' },
  banned: { label: 'Banned', color: 'red' },
  denied: { label: 'Denied', color: 'grape' },
  deleted: { label: 'Deleted', color: 'gray' },
};

export const ROLE_LABELS: Record<User['role'], string> = {
  basic_user: 'Basic User',
  call_center_agent: 'Call Center Agent',
  call_center_supervisor: 'Call Center Supervisor',
  office_manager: 'Office Manager',
  admin: 'Admin',
};

export function personName(user: { firstName: string | null; lastName: string | null; displayName?: string | null; userName?: string | null }): string {
  const name = [user.firstName, user.lastName].filter(Boolean).join(' ') || user.displayName;
  return name || '';
}

/** A user-data kind counted in words: "3 voicemail messages", "1 answering rule". */
const KIND_WORDS: Record<string, [string, string]> = {
  voicemail_message: ['voicemail message', 'voicemail messages'],
  voicemail_greeting: ['voicemail greeting', 'voicemail greetings'],
  answering_rule: ['answering rule', 'answering rules'],
  custom_contact: ['custom contact', 'custom contacts'],
};
export const countInWords = (kind: string, n: number) => {
  const [one, many] = KIND_WORDS[kind] ?? [kind.replaceAll('_', ' '), `${kind.replaceAll('_', ' ')}s`];
  return `${n} ${n === 1 ? one : many}`;
};
