import { randomBytes, scryptSync } from 'node:crypto';

/** A hash in the stored form with the given scrypt parameters, as an older release wrote it. */
export function hashWith(password: string, n: number, r: number, p: number): string {
  const salt = randomBytes(16);
  const key = scryptSync(password.normalize('NFKC'), salt, 32, { N: n, r, p, maxmem: 64 * 1024 * 1024 });
  return `scrypt$${n}$${r}$${p}$${salt.toString('base64url')}$${key.toString('base64url')}`;
}

/** What every hash was before N=2^15, r=8, p=3: one lane. */
export const legacyHash = (password: string) => hashWith(password, 2 ** 15, 8, 1);
