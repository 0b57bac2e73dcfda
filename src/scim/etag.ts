import { createHash } from 'node:crypto';
import fresh from 'fresh';
import type { ScimContext } from './context.ts';
import { scimError } from './errors.ts';

/**
 * SCIM ETags (RFC 7644 §3.14): `meta.version` of a User or Group is a weak entity-tag, sent as
 * the `ETag` header of every response that returns the resource, compared with `If-None-Match` on
 * GET (304) and `If-Match` on PUT, PATCH and DELETE (412).
 *
 * Where the value comes from, and why the two resources differ:
 * - A Group is `W/"<groups.version>"`. The version is bumped by every write of the group row and of
 *   its memberships (src/store/scim-groups.ts), and by a trigger when a member's display or
 *   visibility changes (migration ..._scim_group_member_versions): a Group list may leave the
 *   members out (Entra's `excludedAttributes=members`), so the tag cannot be derived from them.
 * - A User is `W/"<users.version>-<digest of its SCIM representation>"`. Its `groups` (and its
 *   manager's displayName) change with writes of OTHER rows; the user read already carries them,
 *   so the digest covers them at no cost, and a membership write need not lock or bump every
 *   member's row (a Group push of 1,000 members would write 1,000 user rows, and a user write that
 *   bumped its groups while a group write bumped its users would deadlock).
 */

/** A User's tag: its row version and a digest of everything else SCIM returns for it. */
export function userEtag(version: number, representation: unknown): string {
  const digest = createHash('sha256').update(JSON.stringify(representation)).digest('hex').slice(0, 16);
  return `W/"${version}-${digest}"`;
}

/** A Group's tag: its row version. */
export function groupEtag(version: number): string {
  return `W/"${version}"`;
}

/**
 * Whether an If-Match or If-None-Match value (`*` or a list of entity-tags) matches `etag`, by
 * weak comparison (RFC 7232 §2.3.2). For If-None-Match that is RFC 7232's rule; RFC 7232 asks for
 * the strong one on If-Match, but SCIM's tags are all weak and RFC 7644 §3.14 sends them in
 * If-Match, so weak it is. `fresh` is express's own If-None-Match check (its 304s).
 */
export function etagMatches(header: string, etag: string): boolean {
  return fresh({ 'if-none-match': header }, { etag });
}

/**
 * The If-Match precondition of a write (ctx.ifMatch: the request's header, or a /Bulk
 * operation's `version`), checked against the resource as locked in the write's own transaction,
 * so of two writers with the same tag only the first wins; the other waits on the lock and then
 * sees the new tag. Nothing has been written yet when this throws (412).
 */
export function checkIfMatch(ctx: ScimContext, resource: string, etag: string): void {
  if (ctx.ifMatch === undefined || etagMatches(ctx.ifMatch, etag)) return;
  throw scimError(412, undefined, `${resource} has changed since the version in If-Match; its version is now ${etag}.`);
}
