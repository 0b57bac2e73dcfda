import { randomBytes, randomUUID } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { Policy } from '../lifecycle/policy.ts';
import { PasswordLinkSchema, type PasswordLink, type PasswordLinkPurpose } from './entities/index.ts';
import { hashToken } from './tokens.ts';
import { loadPolicy } from './user-lifecycle.ts';
import { sqlIn } from './sql.ts';

/**
 * Set-password links (welcome and recovery): a random 256-bit token in the URL, only its SHA-256
 * in password_links (the same hashing as bearer tokens), so a database leak gives no usable link.
 * Expiry and use are decided by the database clock, the clock `revoke_password_links` writes with.
 */

/** 32 random bytes as base64url: 43 characters. */
const TOKEN_PATTERN = /^[A-Za-z0-9_-]{43}$/;
const HOUR_MS = 3_600_000;

export interface IssueLinkInput {
  tenantId: string;
  userId: string;
  purpose: PasswordLinkPurpose;
  /** The issuing task: its earlier unused links are expired first (a retry mints a fresh one). */
  taskId?: string | null;
  /** PUBLIC_URL: where the link points. */
  publicUrl: string;
  /** Already loaded by the caller; read from the tenant otherwise (welcomeLinkTtlHours). */
  policy?: Policy;
}

export interface IssuedLink {
  link: PasswordLink;
  /** The plain token: goes into the email and nowhere else. */
  token: string;
  url: string;
  /** The tenant's welcomeLinkTtlHours at issue time. */
  validHours: number;
}

export function passwordLinkUrl(publicUrl: string, token: string): string {
  return `${publicUrl.replace(/\/+$/, '')}/set-password?token=${encodeURIComponent(token)}`;
}

/**
 * Issues a link in the caller's transaction (and flushes the caller's unit of work, so a user
 * created in the same unit of work is inserted before the link that references it).
 */
export async function issuePasswordLink(em: EntityManager, input: IssueLinkInput): Promise<IssuedLink> {
  const policy = input.policy ?? (await loadPolicy(em, input.tenantId));
  const validHours = policy.welcomeLinkTtlHours;
  if (input.taskId) {
    // A link from an earlier attempt of this task may never have been delivered, or was and is
    // now superseded by this one: only the newest link of a task works.
    await sqlIn(em)(`update password_links set expires_at = now() where task_id = ? and used_at is null and expires_at > now()`, [
      input.taskId,
    ]);
  }
  const token = randomBytes(32).toString('base64url');
  const link = em.create(PasswordLinkSchema, {
    id: randomUUID(),
    tenantId: input.tenantId,
    userId: input.userId,
    purpose: input.purpose,
    tokenHash: hashToken(token),
    taskId: input.taskId ?? null,
    expiresAt: new Date(Date.now() + validHours * HOUR_MS),
  });
  await em.flush();
  return { link, token, url: passwordLinkUrl(input.publicUrl, token), validHours };
}

/**
 * What a presented token is. `used` and `expired` carry the link so the client API can answer
 * 410 Gone (and say which); `unknown` is a 404 or 400. A used link reports `used` even once
 * past its expiry.
 */
export type LinkLookup =
  | { ok: true; link: PasswordLink }
  | { ok: false; reason: 'unknown' }
  | { ok: false; reason: 'used' | 'expired'; link: PasswordLink };

interface LinkRow {
  id: string;
  tenant_id: string;
  user_id: string;
  purpose: PasswordLinkPurpose;
  token_hash: string;
  task_id: string | null;
  expires_at: Date;
  used_at: Date | null;
  created_at: Date;
  expired: boolean;
}

export async function findUsableLink(em: EntityManager, token: string): Promise<LinkLookup> {
  if (!TOKEN_PATTERN.test(token)) return { ok: false, reason: 'unknown' };
  const [row] = await sqlIn(em)<LinkRow>(
    `select id, tenant_id, user_id, purpose, token_hash, task_id, expires_at, used_at, created_at, expires_at <= now() as expired
       from password_links where token_hash = ?`,
    [hashToken(token)],
  );
  if (!row) return { ok: false, reason: 'unknown' };
  const link: PasswordLink = {
    id: row.id,
    tenantId: row.tenant_id,
    userId: row.user_id,
    purpose: row.purpose,
    tokenHash: row.token_hash,
    taskId: row.task_id,
    expiresAt: new Date(row.expires_at),
    usedAt: row.used_at ? new Date(row.used_at) : null,
    createdAt: new Date(row.created_at),
  };
  if (link.usedAt) return { ok: false, reason: 'used', link };
  if (row.expired) return { ok: false, reason: 'expired', link };
  return { ok: true, link };
}

/**
 * Marks the link used, in the caller's transaction. True only for the one caller whose update
 * changed the row: of two parallel uses of one link, the second waits on the row lock, then
 * finds `used_at` set and gets false. Also false once the link has expired.
 */
export async function consumeLink(em: EntityManager, linkId: string): Promise<boolean> {
  const rows = await sqlIn(em)<{ id: string }>(
    `update password_links set used_at = now() where id = ? and used_at is null and expires_at > now() returning id`,
    [linkId],
  );
  return rows.length === 1;
}

/** Withdraws one unused link at once (issued, then not sent). */
export async function expirePasswordLink(em: EntityManager, linkId: string): Promise<void> {
  await sqlIn(em)(`update password_links set expires_at = now() where id = ? and used_at is null and expires_at > now()`, [linkId]);
}
