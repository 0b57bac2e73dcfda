/**
 * The lifecycle rules of DESIGN.md §2 as one pure function: `transition(user, event, policy)`.
 * Every module that changes a user's status calls it and then applies the result: it writes
 * `status`, `disabledBy` and `failedLoginCount` from the result and performs the `effects` (data,
 * see Effect). Nothing here does I/O.
 *
 * Outcomes with the default policy (onScimDeactivate disable, onScimDelete delete, reconnection
 * leave_deleted). `→x`: ok, moves to x. `=`: ok, nothing changes (a retried job is harmless).
 * `!code`: refusal. Columns: none (no such user), PR password_required, A active, I inactive,
 * Di disabled by the IdP, Do disabled by an operator, B banned, X denied, S setup_required,
 * Del deleted, P purged. `reEn` = active, or password_required when the user has no password.
 * Codes shortened in the table: not_found, pw_not_set, banned, disabled, locked, deleted,
 * not_awaiting stand for user_not_found, password_not_set, user_banned, user_disabled,
 * user_locked, user_deleted, not_awaiting_password (REFUSALS below has the full list).
 *
 * | event                | none        | PR            | A             | I             | Di          | Do          | B           | X           | S            | Del          | P           |
 * |----------------------|-------------|---------------|---------------|---------------|-------------|-------------|-------------|-------------|--------------|--------------|-------------|
 * | create               | →PR*        | !user_exists  | !user_exists  | !user_exists  | !user_exists| !user_exists| !user_exists| !user_exists| !user_exists | !user_exists | !user_purged|
 * | checkin              | !not_found  | !pw_not_set   | = (activity)  | →A            | = clear hist| = clear hist| !banned     | !locked     | !user_reset  | reconnect**  | !user_purged|
 * | sign_in_succeeded    | !not_found  | !pw_not_set   | →A count 0    | →A count 0    | !disabled   | !disabled   | !banned     | !locked     | !user_reset  | !deleted     | !user_purged|
 * | sign_in_failed       | !not_found  | =             | count+1 / →X  | count+1 / →X  | =           | =           | =           | =           | =            | =            | !user_purged|
 * | inactivity_sweep     | !not_found  | =             | →I            | =             | =           | =           | =           | =           | =            | =            | !user_purged|
 * | unlock               | !not_found  | !not_locked   | count 0       | count 0       | !disabled   | !disabled   | !banned     | →A          | !user_reset  | !deleted     | !user_purged|
 * | ban                  | !not_found  | →B            | →B            | →B            | →B          | →B          | =           | →B          | !user_reset  | !deleted     | !user_purged|
 * | unban                | !not_found  | =             | =             | =             | !not_banned | !not_banned | →reEn       | !not_banned | !not_banned  | !deleted     | !user_purged|
 * | disable              | !not_found  | →Do           | →Do           | →Do           | →Do         | =           | !banned     | →Do         | !user_reset  | !deleted     | !user_purged|
 * | activate             | !not_found  | =             | =             | =             | →reEn       | →reEn       | !banned     | !locked     | !user_reset  | !deleted     | !user_purged|
 * | deprovision (admin)  | !not_found  | →Do           | →Do           | →Do           | →Do         | = revoke    | = revoke    | →Do         | =            | = revoke     | !user_purged|
 * | scim_deactivate      | !not_found  | →Di           | →Di           | →Di           | =           | =           | =           | →Di         | =            | =            | !user_purged|
 * | scim_reactivate      | !not_found  | =             | =             | =             | →reEn       | =           | =           | =           | =            | =            | !user_purged|
 * | scim_revive          | !not_found  | =             | =             | =             | =           | =           | =           | =           | =            | →PR*         | !user_purged|
 * | scim_delete, delete  | !not_found  | →Del          | →Del          | →Del          | →Del        | →Del        | →Del        | →Del        | →Del         | =            | !user_purged|
 * | permanent_delete     | !not_found  | →P            | →P            | →P            | →P          | →P          | →P          | →P          | →P           | →P           | !user_purged|
 * | reset                | !not_found  | →S            | →S            | →S            | →S          | →S          | →S          | →S          | = re-clear   | !deleted     | !user_purged|
 * | recycle              | !not_found  | !not_reset    | !not_reset    | !not_reset    | !not_reset  | !not_reset  | !not_reset  | !not_reset  | →PR          | !not_reset   | !user_purged|
 * | password_set         | !not_found  | →A            | !not_awaiting | !not_awaiting | !disabled   | !disabled   | !banned     | !locked     | !user_reset  | !deleted     | !user_purged|
 * | force_password_reset | !not_found  | = (email)     | →PR           | →PR           | !disabled   | !disabled   | !banned     | →PR         | !user_reset  | !deleted     | !user_purged|
 * | send_welcome         | !not_found  | = (email)     | !not_awaiting | !not_awaiting | !disabled   | !disabled   | !banned     | !locked     | !user_reset  | !deleted     | !user_purged|
 *
 *  * create: →A when the IdP sends a password, →Di/Do when created with active=false.
 *    scim_revive likewise (→PR, →A with a password, →Di with active=false), with the welcome email
 *    per sendWelcomeOnScimCreate.
 *  ** reconnect (check-in of a deleted user): leave_deleted `=` (devices clear history),
 *     set_active →reEn, set_disabled →Do (an operator must activate it, as the mode promises).
 *  Policy variants: onScimDeactivate ban → like ban, but IdP no-ops instead of refusals;
 *  onScimDeactivate deprovision → like deprovision with source scim (→Di); deprovision maps to
 *  banned when onScimDeactivate is ban. onScimDelete deprovision / permanent_delete → those rows.
 *  A derived login (login.ts) follows the person: reset and recycle carry `assign_login`.
 *
 * Principles (why the table looks like this):
 * - Operator events refuse with a reason the console can show; IdP events (scim_*) never refuse an
 *   existing user but are no-ops, because a 4xx makes an IdP retry or raise alerts forever, and
 *   Okta sends `active: true` on every profile update.
 * - Re-applying an event to its own result is `=` (or a one-shot refusal for create, recycle,
 *   password_set, permanent_delete), so a retried job changes nothing. Unchanged results only
 *   carry idempotent effects (revocations, flags, activity, emails deduplicated per task).
 * - Stronger blocks are never downgraded: ban beats disable, an operator's disable beats the IdP's
 *   (the IdP may only undo its own deactivation).
 * - Re-enabling (activate, unban, unlock, IdP reactivation, reconnection) clears the failed-login
 *   count and lands on password_required when the user has no password to sign in with.
 * - Reconnection modes apply to a device's check-in (the app "reconnecting"); a password sign-in
 *   of a deleted user is refused (the client API answers 403, DESIGN.md §4).
 */
import { loginsAfterRecycle, loginsAfterReset } from './login.ts';
import type { Policy, ResetOptions } from './policy.ts';
import { planReset, type ResetPlan } from './reset-plan.ts';
import { PURGED, SCIM_ACTIVE_STATUSES, type DisabledBy, type StoredUserStatus } from './statuses.ts';

/** The part of a user the rules read. */
export interface LifecycleUser {
  readonly status: StoredUserStatus;
  /** Set while disabled: who switched the user off. */
  readonly disabledBy: DisabledBy | null;
  readonly failedLoginCount: number;
  /** Decides where a re-enabled user lands: active, or password_required without a password. */
  readonly hasPassword: boolean;
  /**
   * Present when the user's login is derived (login.ts), not chosen by an operator or an IdP: a
   * reset and a recycle then give the seat a login of its own or of its new person.
   */
  readonly derivedLogin?: { readonly userId: string };
}

export type EventSource = 'admin' | 'scim';

export type LifecycleEvent =
  /** A new user from the admin API or SCIM. `active: false` creates it disabled (by its source). */
  | { type: 'create'; source: EventSource; active?: boolean; withPassword?: boolean; sendWelcome?: boolean }
  /** A device checked in with its device token. */
  | { type: 'checkin' }
  /** The right password was given (the caller checked it). */
  | { type: 'sign_in_succeeded' }
  | { type: 'sign_in_failed' }
  /** The scheduled sweep found no check-in or sign-in for `inactivityDays`. */
  | { type: 'inactivity_sweep' }
  /** `newPassword`: the operator also gives a new password (stored by the I/O layer). */
  | { type: 'unlock'; newPassword?: boolean }
  | { type: 'ban' }
  | { type: 'unban' }
  | { type: 'disable' }
  | { type: 'activate' }
  /** Cut off every access at once: disable (or ban, when onScimDeactivate is ban) and revoke all. */
  | { type: 'deprovision'; source: EventSource }
  /** SCIM `active: false`; handled per policy.onScimDeactivate. */
  | { type: 'scim_deactivate' }
  /** SCIM `active: true`. */
  | { type: 'scim_reactivate' }
  /**
   * SCIM POST of a user the IdP deleted before (matched by externalId or userName): the deleted
   * row comes back as a SCIM create would make it, instead of a duplicate.
   */
  | { type: 'scim_revive'; active?: boolean; withPassword?: boolean }
  /** SCIM DELETE; handled per policy.onScimDelete. */
  | { type: 'scim_delete' }
  | { type: 'delete' }
  | { type: 'permanent_delete' }
  /** Options not given fall back to policy.defaultResetOptions. */
  | { type: 'reset'; options?: Partial<ResetOptions> }
  | { type: 'recycle'; firstName: string; lastName: string; email?: string | null; sendWelcome?: boolean }
  /** A password was set from a valid welcome or recovery link. */
  | { type: 'password_set' }
  | { type: 'force_password_reset'; sendRecoveryEmail?: boolean }
  /** Operator "send welcome email". */
  | { type: 'send_welcome' };

export type LifecycleEventType = LifecycleEvent['type'];

export const EVENT_TYPES = [
  'create',
  'checkin',
  'sign_in_succeeded',
  'sign_in_failed',
  'inactivity_sweep',
  'unlock',
  'ban',
  'unban',
  'disable',
  'activate',
  'deprovision',
  'scim_deactivate',
  'scim_reactivate',
  'scim_revive',
  'scim_delete',
  'delete',
  'permanent_delete',
  'reset',
  'recycle',
  'password_set',
  'force_password_reset',
  'send_welcome',
] as const satisfies readonly LifecycleEventType[];
// Compile-time: EVENT_TYPES lists every event of the union.
const everyEventListed: Exclude<LifecycleEventType, (typeof EVENT_TYPES)[number]> extends never ? true : never = true;
void everyEventListed;

/**
 * What the I/O layer does after writing the new status. Each is idempotent to apply, so a retried
 * job may apply the same list again.
 */
export type Effect =
  /** End every interactive session of the user (console, web) now. */
  | { type: 'revoke_sessions' }
  /** Invalidate every device token and app credential: the old token stops working at once. */
  | { type: 'revoke_device_tokens' }
  /** Outstanding welcome / recovery links stop working (a previous person's link, a superseded one). */
  | { type: 'revoke_password_links' }
  /** Flag the user's devices: their next check-in answers `clearHistory: true` (a flag, not a count). */
  | { type: 'clear_history_on_devices' }
  /** Remove the stored password hash. */
  | { type: 'clear_password' }
  /** Store (hashed) the new password that came with the request; the plain value never passes here. */
  | { type: 'set_password' }
  /** Stamp the last check-in or sign-in time, which the inactivity sweep reads. */
  | { type: 'record_activity'; via: 'checkin' | 'sign_in' }
  /** Clear exactly what the plan lists (see reset-plan.ts); deleting what is already gone is a no-op. */
  | { type: 'clear_reset_data'; plan: ResetPlan }
  /** Put the recycled seat's new person in place: first and last name, email (or none). */
  | { type: 'assign_person'; firstName: string; lastName: string; email: string | null }
  /**
   * A derived login follows the seat's person (login.ts): it becomes the first of `candidates` no
   * other user of the tenant holds, the last one regardless, and stays marked as derived.
   */
  | { type: 'assign_login'; candidates: readonly string[] }
  /** Erase personal data and the user's records, keep a pseudonymous tombstone (GDPR). */
  | { type: 'purge_personal_data' }
  /** Issue a set-password link and email it (once per task). */
  | { type: 'send_welcome_email' }
  /** Same link mechanism, recovery wording (once per task). */
  | { type: 'send_recovery_email' };
export type EffectType = Effect['type'];

export const REFUSALS = {
  user_not_found: 'No such user.',
  user_exists: 'The user already exists.',
  user_purged: 'The user was permanently deleted; nothing more can be done with this record.',
  user_deleted:
    'The user is deleted; a deleted user comes back only when their app reconnects and the reconnection mode allows it.',
  user_banned: 'The user is banned; unban them first.',
  user_disabled: 'The user is disabled; activate them first.',
  user_locked: 'The user is locked after too many wrong passwords; unlock them first.',
  user_reset: 'The user was reset and the seat has no person; recycle it first.',
  password_not_set: 'The user has not set a password yet.',
  not_reset: 'Only a reset user (setup required) can be recycled; reset the user first.',
  not_locked: 'The user is not locked; only a denied user can be unlocked.',
  not_banned: 'The user is not banned.',
  not_awaiting_password: 'The user is not waiting for a password (status is not password required).',
  name_required: 'A recycled user needs a first and a last name.',
  email_required: 'A welcome email needs an email address.',
} as const;
export type RefusalCode = keyof typeof REFUSALS;
export const REFUSAL_CODES: readonly RefusalCode[] = Object.freeze(Object.keys(REFUSALS) as RefusalCode[]);

export interface Refusal {
  code: RefusalCode;
  message: string;
}

export interface TransitionOk {
  ok: true;
  status: StoredUserStatus;
  /** Non-null exactly when status is disabled. */
  disabledBy: DisabledBy | null;
  failedLoginCount: number;
  effects: Effect[];
  /** Whether status, disabledBy or failedLoginCount differ from the input. */
  changed: boolean;
}
export interface TransitionRefusal {
  ok: false;
  refusal: Refusal;
}
export type TransitionResult = TransitionOk | TransitionRefusal;

/**
 * Whether the result tells the user's devices to clear their message history: a check-in's answer
 * then says `clearHistory: true` (a disabled user, a deleted one left deleted).
 */
export function clearsHistory(result: TransitionOk): boolean {
  return result.effects.some((e) => e.type === 'clear_history_on_devices');
}

/** SCIM `active` for a status: true for active, inactive and password_required. */
export function scimActive(status: StoredUserStatus): boolean {
  return SCIM_ACTIVE_STATUSES.includes(status);
}

const effect = <T extends EffectType>(type: T) => Object.freeze({ type }) as Extract<Effect, { type: T }>;
const REVOKE_SESSIONS = effect('revoke_sessions');
const REVOKE_DEVICE_TOKENS = effect('revoke_device_tokens');
const REVOKE_PASSWORD_LINKS = effect('revoke_password_links');
const CLEAR_HISTORY = effect('clear_history_on_devices');
const CLEAR_PASSWORD = effect('clear_password');
const SET_PASSWORD = effect('set_password');
const PURGE = effect('purge_personal_data');
const SEND_WELCOME = effect('send_welcome_email');
const SEND_RECOVERY = effect('send_recovery_email');
/** Deprovision revokes everything and tells devices to clear their history: a leaver is cut off at once. */
const CUT_OFF: Effect[] = [REVOKE_SESSIONS, REVOKE_DEVICE_TOKENS, REVOKE_PASSWORD_LINKS, CLEAR_HISTORY];

export function transition(user: LifecycleUser | null, event: LifecycleEvent, policy: Policy): TransitionResult {
  if (user?.status === PURGED) return refuse('user_purged');
  if (user === null) return event.type === 'create' ? create(event, policy) : refuse('user_not_found');
  const s = user.status;
  const usable = s === 'active' || s === 'inactive';

  switch (event.type) {
    case 'create':
      return refuse('user_exists');

    case 'checkin':
      if (usable) return to(user, 'active', {}, [{ type: 'record_activity', via: 'checkin' }]);
      if (s === 'disabled') return to(user, s, {}, [CLEAR_HISTORY]);
      if (s === 'deleted') return reconnect(user, policy);
      return refuse(blockedCode(s, 'password_not_set'));

    case 'sign_in_succeeded':
      if (usable) return to(user, 'active', { failedLoginCount: 0 }, [{ type: 'record_activity', via: 'sign_in' }]);
      return refuse(blockedCode(s, 'password_not_set'));

    case 'sign_in_failed': {
      // Only a user who could sign in counts; the others are blocked by their status already.
      if (!usable) return to(user, s);
      const count = user.failedLoginCount + 1;
      return to(user, count >= policy.lockoutThreshold ? 'denied' : s, { failedLoginCount: count });
    }

    case 'inactivity_sweep':
      return to(user, s === 'active' ? 'inactive' : s);

    case 'unlock': {
      if (s !== 'denied' && !usable) return refuse(blockedCode(s, 'not_locked'));
      const next = s === 'denied' ? reEnabled(user.hasPassword || event.newPassword === true) : s;
      return to(user, next, { failedLoginCount: 0 }, event.newPassword ? [SET_PASSWORD, REVOKE_SESSIONS] : []);
    }

    case 'ban':
      return ban(user, 'operator');

    case 'unban':
      if (s === 'banned') return to(user, reEnabled(user.hasPassword), { failedLoginCount: 0 });
      if (usable || s === 'password_required') return to(user, s);
      return refuse(s === 'deleted' ? 'user_deleted' : 'not_banned');

    case 'disable':
      return disable(user, 'operator');

    case 'activate':
      if (s === 'disabled') return to(user, reEnabled(user.hasPassword), { failedLoginCount: 0 });
      // Inactive stays inactive: it leaves on its own at the next check-in or sign-in.
      if (usable || s === 'password_required') return to(user, s);
      return refuse(blockedCode(s, 'user_not_found')); // banned, denied, setup_required, deleted

    case 'deprovision':
      return deprovision(user, event.source, policy);

    case 'scim_deactivate':
      return scimDeactivate(user, policy);

    case 'scim_reactivate':
      // The IdP may only undo its own deactivation; anything else is a silent no-op.
      if (s === 'disabled' && user.disabledBy === 'idp') {
        return to(user, reEnabled(user.hasPassword), { failedLoginCount: 0 });
      }
      return to(user, s);

    case 'scim_revive': {
      // Only a deleted user is revived; anything else the IdP re-creates already exists: no-op.
      if (s !== 'deleted') return to(user, s);
      const created = create({ type: 'create', source: 'scim', active: event.active, withPassword: event.withPassword }, policy);
      if (!created.ok) return created;
      // The person starts afresh: an old password does not come back with the account.
      const clear = !event.withPassword && user.hasPassword ? [CLEAR_PASSWORD] : [];
      return to(user, created.status, { disabledBy: created.disabledBy ?? 'idp', failedLoginCount: 0 }, [...clear, ...created.effects]);
    }

    case 'scim_delete':
      return scimDelete(user, policy);

    case 'delete':
      return remove(user);

    case 'permanent_delete':
      return purge(user);

    case 'reset': {
      const plan = planReset(event.options ?? {}, policy.defaultResetOptions);
      const clear: Effect = { type: 'clear_reset_data', plan };
      // The person's derived login goes with their name and email.
      const login: Effect[] = user.derivedLogin ? [{ type: 'assign_login', candidates: loginsAfterReset(user.derivedLogin.userId) }] : [];
      // Resetting a reset seat again clears what the new options add; nothing else to revoke.
      if (s === 'setup_required') return to(user, s, {}, [clear, ...login]);
      if (s === 'deleted') return refuse('user_deleted');
      return to(user, 'setup_required', { failedLoginCount: 0 }, [
        REVOKE_SESSIONS,
        REVOKE_DEVICE_TOKENS,
        REVOKE_PASSWORD_LINKS,
        clear,
        ...login,
      ]);
    }

    case 'recycle': {
      if (s !== 'setup_required') return refuse('not_reset');
      const firstName = event.firstName.trim();
      const lastName = event.lastName.trim();
      const email = event.email?.trim() || null;
      if (!firstName || !lastName) return refuse('name_required');
      if (event.sendWelcome && !email) return refuse('email_required');
      const effects: Effect[] = [{ type: 'assign_person', firstName, lastName, email }];
      if (user.derivedLogin) effects.push({ type: 'assign_login', candidates: loginsAfterRecycle(user.derivedLogin.userId, { firstName, lastName, email }) });
      if (event.sendWelcome) effects.push(SEND_WELCOME);
      return to(user, 'password_required', { failedLoginCount: 0 }, effects);
    }

    case 'password_set':
      if (s === 'password_required') {
        return to(user, 'active', { failedLoginCount: 0 }, [SET_PASSWORD, REVOKE_PASSWORD_LINKS]);
      }
      return refuse(blockedCode(s, 'not_awaiting_password'));

    case 'force_password_reset': {
      const email = event.sendRecoveryEmail ? [SEND_RECOVERY] : [];
      // Already waiting: only (re)send the link; revoking here would kill the link a retry already sent.
      if (s === 'password_required') return to(user, s, {}, email);
      // A locked user may be sent a fresh link instead of an unlock: the link proves the person.
      if (usable || s === 'denied') {
        return to(user, 'password_required', { failedLoginCount: 0 }, [
          CLEAR_PASSWORD,
          REVOKE_SESSIONS,
          REVOKE_DEVICE_TOKENS,
          REVOKE_PASSWORD_LINKS,
          ...email,
        ]);
      }
      return refuse(blockedCode(s, 'user_not_found')); // disabled, banned, setup_required, deleted
    }

    case 'send_welcome':
      if (s === 'password_required') return to(user, s, {}, [SEND_WELCOME]);
      return refuse(blockedCode(s, 'not_awaiting_password'));

    default:
      return assertNever(event);
  }
}

function scimDeactivate(user: LifecycleUser, policy: Policy): TransitionResult {
  switch (policy.onScimDeactivate) {
    case 'disable':
      return disable(user, 'idp');
    case 'ban':
      return ban(user, 'idp');
    case 'deprovision':
      return deprovision(user, 'scim', policy);
  }
}

function scimDelete(user: LifecycleUser, policy: Policy): TransitionResult {
  switch (policy.onScimDelete) {
    case 'delete':
      return remove(user);
    case 'deprovision':
      return deprovision(user, 'scim', policy);
    case 'permanent_delete':
      return purge(user);
  }
}

/**
 * Whether an IdP's DELETE erases the user under this policy (onScimDelete permanent_delete). The
 * rule is scimDelete's; the SCIM layer asks here because an erasure, which cannot be undone, runs
 * as a purge task (retried, visible to operators) instead of inside the SCIM request.
 */
export function scimDeleteErases(policy: Policy): boolean {
  const result = scimDelete({ status: 'active', disabledBy: null, failedLoginCount: 0, hasPassword: true }, policy);
  return result.ok && result.effects.some((e) => e.type === 'purge_personal_data');
}

function create(event: Extract<LifecycleEvent, { type: 'create' }>, policy: Policy): TransitionResult {
  const disabledBy: DisabledBy = event.source === 'scim' ? 'idp' : 'operator';
  const status: StoredUserStatus =
    event.active === false ? 'disabled' : event.withPassword ? 'active' : 'password_required';
  // Admin-created users get the welcome email unless asked not to; SCIM ones per policy.
  const welcome =
    status === 'password_required' &&
    (event.sendWelcome ?? (event.source === 'scim' ? policy.sendWelcomeOnScimCreate : true));
  const effects: Effect[] = [];
  if (event.withPassword) effects.push(SET_PASSWORD);
  if (welcome) effects.push(SEND_WELCOME);
  return {
    ok: true,
    status,
    disabledBy: status === 'disabled' ? disabledBy : null,
    failedLoginCount: 0,
    effects,
    changed: true,
  };
}

/** A device of a deleted user checked in: the tenant's reconnection mode decides. */
function reconnect(user: LifecycleUser, policy: Policy): TransitionResult {
  switch (policy.reconnectionMode) {
    case 'leave_deleted':
      return to(user, 'deleted', {}, [CLEAR_HISTORY]);
    case 'set_active':
      return to(user, reEnabled(user.hasPassword), { failedLoginCount: 0 }, [
        { type: 'record_activity', via: 'checkin' },
      ]);
    case 'set_disabled':
      // "Must be made active by an administrator": the IdP must not be able to undo it.
      return to(user, 'disabled', { disabledBy: 'operator' }, [CLEAR_HISTORY]);
  }
}

function ban(user: LifecycleUser, by: DisabledBy): TransitionResult {
  const s = user.status;
  if (s === 'banned') return to(user, s);
  // A reset seat has no person to ban; a deleted user is already gone from every list.
  if (s === 'setup_required' || s === 'deleted') {
    return by === 'idp' ? to(user, s) : refuse(blockedCode(s, 'user_reset'));
  }
  // History is kept (DESIGN.md §2): no clear_history, nothing deleted.
  return to(user, 'banned', {}, [REVOKE_SESSIONS, REVOKE_DEVICE_TOKENS]);
}

function disable(user: LifecycleUser, by: DisabledBy): TransitionResult {
  const s = user.status;
  // Already disabled: an operator takes ownership (the IdP can then no longer re-enable it).
  if (s === 'disabled') return to(user, s, { disabledBy: user.disabledBy === 'operator' ? 'operator' : by });
  if (s === 'banned' || s === 'setup_required' || s === 'deleted') {
    return by === 'idp' ? to(user, s) : refuse(blockedCode(s, 'user_banned'));
  }
  // Device tokens are kept so the device's next check-in can be told to clear its history.
  return to(user, 'disabled', { disabledBy: by }, [REVOKE_SESSIONS, CLEAR_HISTORY]);
}

function deprovision(user: LifecycleUser, source: EventSource, policy: Policy): TransitionResult {
  const s = user.status;
  const by: DisabledBy = source === 'scim' ? 'idp' : 'operator';
  // A reset seat has nothing left to revoke.
  if (s === 'setup_required') return to(user, s);
  // Banned is never downgraded; a deleted user keeps its status but loses its tokens.
  if (s === 'banned' || s === 'deleted') return to(user, s, {}, CUT_OFF);
  if (policy.onScimDeactivate === 'ban') return to(user, 'banned', {}, CUT_OFF);
  const disabledBy = s === 'disabled' && user.disabledBy === 'operator' ? 'operator' : by;
  return to(user, 'disabled', { disabledBy }, CUT_OFF);
}

/** Delete: hidden, row and history kept; device tokens kept so reconnection modes can apply. */
function remove(user: LifecycleUser): TransitionResult {
  if (user.status === 'deleted') return to(user, 'deleted');
  return to(user, 'deleted', {}, [REVOKE_SESSIONS, REVOKE_PASSWORD_LINKS, CLEAR_HISTORY]);
}

function purge(user: LifecycleUser): TransitionResult {
  return to(user, PURGED, { failedLoginCount: 0 }, [
    REVOKE_SESSIONS,
    REVOKE_DEVICE_TOKENS,
    REVOKE_PASSWORD_LINKS,
    PURGE,
  ]);
}

function reEnabled(hasPassword: boolean): StoredUserStatus {
  return hasPassword ? 'active' : 'password_required';
}

/** The refusal for a status that blocks the event, or `otherwise` for the rest. */
function blockedCode(status: StoredUserStatus, otherwise: RefusalCode): RefusalCode {
  switch (status) {
    case 'disabled':
      return 'user_disabled';
    case 'banned':
      return 'user_banned';
    case 'denied':
      return 'user_locked';
    case 'setup_required':
      return 'user_reset';
    case 'deleted':
      return 'user_deleted';
    case PURGED:
      return 'user_purged';
    default:
      return otherwise;
  }
}

function to(
  user: LifecycleUser,
  status: StoredUserStatus,
  next: { disabledBy?: DisabledBy; failedLoginCount?: number } = {},
  effects: Effect[] = [],
): TransitionOk {
  const disabledBy = status === 'disabled' ? (next.disabledBy ?? user.disabledBy ?? 'operator') : null;
  const failedLoginCount = next.failedLoginCount ?? user.failedLoginCount;
  const changed =
    status !== user.status || disabledBy !== user.disabledBy || failedLoginCount !== user.failedLoginCount;
  return { ok: true, status, disabledBy, failedLoginCount, effects, changed };
}

function refuse(code: RefusalCode): TransitionRefusal {
  return { ok: false, refusal: { code, message: REFUSALS[code] } };
}

function assertNever(value: never): never {
  throw new Error(`unhandled lifecycle event: ${JSON.stringify(value)}`);
}
