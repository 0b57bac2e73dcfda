import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';

/**
 * Password hashing with scrypt (Node's own, memory-hard; no native addon to build). The stored
 * form names its parameters, `scrypt$N$r$p$salt$hash`, so they can be raised later and old hashes
 * still verify. PINs use the same functions.
 */
const N = 2 ** 15;
const R = 8;
const P = 1;
const KEY_LENGTH = 32;
// 128 * N * r bytes is exactly 32 MiB; scrypt refuses when maxmem is not above it.
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

/** Constant-time comparison; false for a malformed or missing hash (never throws on bad input). */
export async function verifyPassword(password: string, stored: string | null | undefined): Promise<boolean> {
  if (!stored) {
    // Spend the same time as a real check so "no such user" is not told apart by timing.
    await derive(password, DUMMY_SALT, N, R, P);
    return false;
  }
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [, n, r, p, salt, hash] = parts as [string, string, string, string, string, string];
  const expected = Buffer.from(hash, 'base64url');
  const key = await derive(password, Buffer.from(salt, 'base64url'), Number(n), Number(r), Number(p));
  return key.length === expected.length && timingSafeEqual(key, expected);
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
