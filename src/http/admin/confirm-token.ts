import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { canonical } from './canonical-json.ts';

/**
 * The confirmation token of an irreversible operation (DESIGN.md §4): the dry run hands it out,
 * the real request must carry it back unchanged. It is an HMAC over exactly what was previewed
 * (tenant, action, the sorted user ids or the selection, the options in canonical form) and an expiry, so it
 * confirms that request and no other: one more user, another option or another tenant is a
 * different request and needs its own preview.
 *
 * It is not an authorization boundary (whoever may send the request may also ask for its dry
 * run), so its key need not be a stored secret: it is derived from the tenant row, which every
 * API process reads alike and which survives restarts, and it is never shown to a client.
 *
 * Each token confirms one run: it carries a random nonce (two previews of one request in the same
 * second get different tokens), and the operation it starts stores its hash under a unique
 * constraint (operations.confirm_token_hash), so a second use is refused (confirmation_used).
 *
 * Form: `v2.<expiry, unix seconds>.<nonce, 16 bytes base64url>.<base64url HMAC-SHA256>`.
 */
export const CONFIRM_TOKEN_TTL_MS = 15 * 60_000;

export interface ConfirmedRequest {
  tenantId: string;
  action: string;
  userIds: readonly string[];
  options: unknown;
  /**
   * A selection (the user list's filters) instead of user ids: the token then confirms that
   * selection as its dry run resolved it (the users kept under the token's hash, operation-targets.ts).
   */
  selection?: unknown;
}

export function confirmKey(tenant: { id: string; createdAt: Date | string }): Buffer {
  return createHash('sha256').update(`turnover/operation-confirm/${tenant.id}/${new Date(tenant.createdAt).toISOString()}`).digest();
}

export function signConfirmToken(key: Buffer, request: ConfirmedRequest, now = Date.now()): { token: string; expiresAt: Date } {
  const expires = Math.floor((now + CONFIRM_TOKEN_TTL_MS) / 1000);
  const nonce = randomBytes(16).toString('base64url');
  return { token: `v2.${expires}.${nonce}.${mac(key, request, expires, nonce)}`, expiresAt: new Date(expires * 1000) };
}

export type ConfirmCheck = { ok: true } | { ok: false; reason: 'missing' | 'malformed' | 'expired' | 'mismatch' };

export function verifyConfirmToken(key: Buffer, token: string | undefined, request: ConfirmedRequest, now = Date.now()): ConfirmCheck {
  if (!token) return { ok: false, reason: 'missing' };
  const match = /^v2\.(\d{1,12})\.([A-Za-z0-9_-]{22})\.([A-Za-z0-9_-]{43})$/.exec(token);
  if (!match) return { ok: false, reason: 'malformed' };
  const expires = Number(match[1]);
  const given = Buffer.from(match[3]!, 'base64url');
  const expected = Buffer.from(mac(key, request, expires, match[2]!), 'base64url');
  // The MAC first: an altered expiry or nonce is a mismatch, not "expired".
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { ok: false, reason: 'mismatch' };
  if (expires * 1000 <= now) return { ok: false, reason: 'expired' };
  return { ok: true };
}

/** What a used token is stored as: its hash, never the token. */
export function confirmTokenHash(token: string): string {
  return createHash('sha256').update(token).digest('base64url');
}

function mac(key: Buffer, request: ConfirmedRequest, expires: number, nonce: string): string {
  const ids = [...new Set(request.userIds.map((id) => id.toLowerCase()))].sort();
  const signed: unknown[] = [request.tenantId, request.action, ids, canonical(request.options ?? {}), expires, nonce];
  if (request.selection !== undefined) signed.push(canonical(request.selection));
  const message = JSON.stringify(signed);
  return createHmac('sha256', key).update(message).digest('base64url');
}
