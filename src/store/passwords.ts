import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';

/**
 * Password hashing with scrypt (Node's own, memory-hard; no native addon to build). The stored
 * form names its parameters, `scrypt$N$r$p$salt$hash`, so they can be raised later and old hashes
 * still verify; sign-in replaces an old one (needsRehash). PINs use the same functions.
 *
 * N=2^15, r=8, p=3: one of the OWASP Password Storage Cheat Sheet's scrypt settings of equal
 * strength (with N=2^17/p=1 and N=2^16/p=2). Of the three it needs the least memory per hash
 * (32 MiB, against 128 MiB for N=2^17, times the concurrent sign-ins) and is the fastest here
 * (~160 ms, against ~225 and ~270 ms, on 2 cores), and it is the old setting (p=1) with two more
 * lanes, which is what lets an old hash's check cost as much as a new one's (verifyPassword).
 */
const N = 2 ** 15;
const R = 8;
const P = 3;
const KEY_LENGTH = 32;
// 128 * N * r bytes is exactly 32 MiB (lanes run one after another); scrypt refuses when maxmem
// is not above it.
const MAXMEM = 64 * 1024 * 1024;

function derive(password: string, salt: Buffer, n: number, r: number, p: number): Promise<Buffer> {
  const options: ScryptOptions = { N: n, r, p, maxmem: MAXMEM };
  return new Promise((resolve, reject) =>
    scrypt(password.normalize('NFKC'), salt, KEY_LENGTH, options, (error, key) => (error ? reject(error) : resolve(key))),
  );
}

export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await derive(password, salt, N, R, P);
  return `scrypt$${N}$${R}$${P}$${salt.toString('base64url')}$${key.toString('base64url')}`;
}

interface StoredHash {
  n: number;
  r: number;
  p: number;
  salt: Buffer;
  hash: Buffer;
}

function parseHash(stored: string): StoredHash | null {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return null;
  const [n, r, p] = parts.slice(1, 4).map((x) => (/^[1-9][0-9]{0,9}$/.test(x!) ? Number(x) : NaN)) as [number, number, number];
  if (![n, r, p].every(Number.isSafeInteger)) return null;
  return { n, r, p, salt: Buffer.from(parts[4]!, 'base64url'), hash: Buffer.from(parts[5]!, 'base64url') };
}

/** True for a well-formed hash made with other parameters than today's: hash it again at the next sign-in. */
export function needsRehash(stored: string | null | undefined): boolean {
  const parsed = stored ? parseHash(stored) : null;
  return parsed !== null && (parsed.n !== N || parsed.r !== R || parsed.p !== P || parsed.hash.length !== KEY_LENGTH);
}

/** Constant-time comparison; false for a malformed or missing hash (never throws on bad input). */
export async function verifyPassword(password: string, stored: string | null | undefined): Promise<boolean> {
  const parsed = stored ? parseHash(stored) : null;
  if (!parsed) {
    // Spend the same time as a real check so "no such user" is not told apart by timing.
    await derive(password, DUMMY_SALT, N, R, P);
    return false;
  }
  const { n, r, p, salt, hash } = parsed;
  const key = await derive(password, salt, n, r, p).catch(() => null);
  // A hash with fewer lanes than today's (the p=1 ones) costs the missing lanes on top, so a
  // user whose hash is old is not told apart from an unknown one by timing either.
  if (n === N && r === R && p < P) await derive(password, DUMMY_SALT, N, R, P - p);
  return key !== null && key.length === hash.length && timingSafeEqual(key, hash);
}

const DUMMY_SALT = randomBytes(16);

/** A generated password an operator copies to a new employee: 20 characters, ~119 bits. */
export function generatePassword(): string {
  const alphabet = 'ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789';
  const bytes = randomBytes(40);
  let out = '';
  // Rejection sampling keeps every character equally likely (256 is not a multiple of 57).
  for (const b of bytes) {
    if (b < 228) out += alphabet[b % 57];
    if (out.length === 20) return out;
  }
  return out + generatePassword().slice(out.length);
}

/** The minimum strength rules of a password someone chooses (set-password page, unlock). */
export function passwordProblem(password: string, context: { userName?: string | null; email?: string | null } = {}): string | null {
  if (password.length < 12) return 'The password must be at least 12 characters long.';
  if (password.length > 256) return 'The password must be at most 256 characters long.';
  if (new Set(password).size < 5) return 'The password must use at least 5 different characters.';
  const lower = password.toLowerCase();
  for (const known of [context.userName, context.email, context.email?.split('@')[0]]) {
    if (known && known.length >= 4 && lower.includes(known.toLowerCase())) return 'The password must not contain your user name or email.';
  }
  return null;
}
