import { describe, expect, it } from 'vitest';
import { hashPassword, needsRehash, verifyPassword } from '../../src/store/passwords.ts';
import { hashWith, legacyHash } from '../support/passwords.ts';

describe('password hashes', () => {
  it('are made with scrypt N=2^15, r=8, p=3, named in the stored form, and verify', async () => {
    const stored = await hashPassword('correct horse battery staple');
    expect(stored).toMatch(/^scrypt\$32768\$8\$3\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{43}$/);
    expect(await verifyPassword('correct horse battery staple', stored)).toBe(true);
    expect(await verifyPassword('correct horse battery stapler', stored)).toBe(false);
  });

  it('need a rehash when made with other parameters, and not otherwise', async () => {
    expect(needsRehash(await hashPassword('a password of mine'))).toBe(false);
    expect(needsRehash(legacyHash('a password of mine'))).toBe(true);
    expect(needsRehash(hashWith('a password of mine', 2 ** 14, 8, 3))).toBe(true);
    // Nothing to rehash: no hash, or one that never verifies.
    for (const stored of [null, undefined, '', 'scrypt$old', 'bcrypt$2b$10$x', 'scrypt$abc$8$1$c2FsdA$a2V5']) expect(needsRehash(stored), String(stored)).toBe(false);
  });

  it('made with the old parameters still verify', async () => {
    const old = legacyHash('an old password here');
    expect(await verifyPassword('an old password here', old)).toBe(true);
    expect(await verifyPassword('an old password there', old)).toBe(false);
  });

  it('that are malformed or ask for impossible parameters verify as false, never throw', async () => {
    for (const stored of ['scrypt$old', 'scrypt$abc$8$1$c2FsdA$a2V5', 'scrypt$1073741824$8$1$c2FsdA$a2V5', 'scrypt$1000$8$1$c2FsdA$a2V5', 'scrypt$16384$8$1$c2FsdA$']) {
      expect(await verifyPassword('whatever it is', stored), stored).toBe(false);
    }
  });
});
