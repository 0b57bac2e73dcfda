/**
 * Whose login (userName) it is, and what a reset or recycle makes of it.
 *
 * A login is either
 * - derived: turnover made it because nobody chose one: a user created over the admin API or
 *   the CSV import without a userName (or with the email itself as userName) gets their email,
 *   and the logins given below are derived too; or
 * - explicit: chosen by an operator (userName on create or PATCH) or by an identity provider (every
 *   SCIM-provisioned user; an admin-created user becomes the IdP's once SCIM sets its externalId
 *   or another userName).
 *
 * A derived login belongs to the seat's person, so it goes and comes with them: a reset gives the
 * seat a placeholder that names nobody, and a recycle gives it the new person's email, or when
 * there is none or it is another user's login in the tenant, `first.last` (then `first.last.2` ...
 * `.9`), else the placeholder stays. An explicit login is never changed by a reset or recycle: the
 * IdP keeps what it set (it would push it back anyway), and an operator edits their own choice.
 */

/** The placeholder of a reset seat: unique by construction (the user's id), and nobody's name. */
export function seatLogin(userId: string): string {
  return `seat-${userId}`;
}

/** How many numbered variants of `first.last` a recycle tries before it keeps the placeholder. */
export const NAME_LOGIN_VARIANTS = 9;

/**
 * `first.last` from a person's name: lower case, accents dropped, letters and digits of any
 * script kept, everything else one dot. Null when nothing is left (a name of punctuation only).
 */
export function nameLogin(firstName: string, lastName: string): string | null {
  const base = `${firstName} ${lastName}`
    .normalize('NFKD')
    .replace(/\p{M}+/gu, '')
    .toLowerCase()
    .replace(/[^\p{L}\p{N}]+/gu, '.')
    .replace(/^\.+|\.+$/g, '');
  return base || null;
}

/** The logins a reset seat takes, best first (the store writes the first one free in the tenant). */
export function loginsAfterReset(userId: string): string[] {
  return [seatLogin(userId)];
}

/**
 * The logins a recycled seat may take, best first: the store writes the first that no other user
 * of the tenant holds (case-insensitively), and the last one regardless (it is the placeholder,
 * unique by construction).
 */
export function loginsAfterRecycle(userId: string, person: { firstName: string; lastName: string; email: string | null }): string[] {
  const name = nameLogin(person.firstName, person.lastName);
  const byName = name ? [name, ...Array.from({ length: NAME_LOGIN_VARIANTS - 1 }, (_, i) => `${name}.${i + 2}`)] : [];
  return [...(person.email ? [person.email] : []), ...byName, seatLogin(userId)];
}

/** Whether a login given on create is derived: none given, or the email itself. */
export function isDerivedOnCreate(userName: string | undefined, email: string): boolean {
  return userName === undefined || userName.toLowerCase() === email.toLowerCase();
}
