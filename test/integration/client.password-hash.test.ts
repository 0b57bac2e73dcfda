import { beforeAll, describe, expect, it } from 'vitest';
import { hashPassword, needsRehash, verifyPassword } from '../../src/store/passwords.ts';
import { apiClient } from '../support/api-client.ts';
import { legacyHash } from '../support/passwords.ts';
import { useTestRuntime } from '../support/runtime.ts';

const PASSWORD = 'correct horse battery staple';
const CURRENT = /^scrypt\$32768\$8\$3\$/;

/** Password hashes over sign-in: old ones are replaced at the next good sign-in; timing tells no user apart. */
describe('password hashes at sign-in', () => {
  const t = useTestRuntime({ label: 'client_password_hash', roles: { api: true, relay: false, workers: false } });
  const client = () => apiClient(t);
  const storedHash = async (id: string) => (await t.getUser(id)).passwordHash!;

  it('replaces a hash with the old parameters at the next successful sign-in; a failed one leaves it', async () => {
    const old = legacyHash(PASSWORD);
    const user = await t.createUser({ userName: 'inara', passwordHash: old, status: 'active' });

    expect((await client().post('/client/login', { userName: 'inara', password: 'not the password' })).status).toBe(401);
    expect(await storedHash(user.id)).toBe(old);

    expect((await client().post('/client/login', { userName: 'inara', password: PASSWORD })).status).toBe(200);
    const rehashed = await storedHash(user.id);
    expect(rehashed).toMatch(CURRENT);
    expect(needsRehash(rehashed)).toBe(false);
    expect(await verifyPassword(PASSWORD, rehashed)).toBe(true);

    // The new hash signs in, and is not replaced again.
    expect((await client().post('/client/login', { userName: 'inara', password: PASSWORD })).status).toBe(200);
    expect(await storedHash(user.id)).toBe(rehashed);
  });

  it('does not rehash a sign-in that is refused with the right password (a disabled user)', async () => {
    const old = legacyHash(PASSWORD);
    const user = await t.createUser({ userName: 'saffron', passwordHash: old, status: 'disabled', disabledBy: 'operator' });
    expect((await client().post('/client/login', { userName: 'saffron', password: PASSWORD })).status).toBe(403);
    expect(await storedHash(user.id)).toBe(old);
  });

  it("rehashes at the console's operator sign-in too", async () => {
    const user = await t.createUser({ userName: 'mal', role: 'admin', passwordHash: legacyHash(PASSWORD), status: 'active' });
    const res = await fetch(`${t.runtime.url}/console/api/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ userName: 'mal', password: PASSWORD }),
    });
    expect(res.status).toBe(201);
    expect(await storedHash(user.id)).toMatch(CURRENT);
  });

  describe('timing', () => {
    let current: string;
    beforeAll(async () => {
      current = await hashPassword(PASSWORD);
      await t.createUser({ userName: 'simon', passwordHash: current, status: 'active' });
      await t.createUser({ userName: 'river', passwordHash: legacyHash(PASSWORD), status: 'active' });
    });

    const timed = async (userName: string) => {
      const started = performance.now();
      const res = await client().post('/client/login', { userName, password: 'a wrong password' });
      expect(res.status).toBe(401);
      return performance.now() - started;
    };
    // The fastest of several runs is the cost itself; load from other work only ever adds to it.
    const fastest = (xs: number[]) => Math.min(...xs);

    it('takes as long for an unknown user as for a known one with a current or an old hash', async () => {
      const samples: Record<'known' | 'old' | 'unknown', number[]> = { known: [], old: [], unknown: [] };
      await timed('nobody at all'); // warm-up
      // Interleaved, and fewer than the lockout threshold, so load hits all three alike.
      for (let i = 0; i < 7; i++) {
        samples.known.push(await timed('simon'));
        samples.old.push(await timed('river'));
        samples.unknown.push(await timed(`nobody.${i}`));
      }
      const known = fastest(samples.known);
      const report = JSON.stringify(samples);
      // A dummy hash with the old parameters (or none) would take well under half as long.
      expect(fastest(samples.unknown) / known, report).toBeGreaterThan(0.7);
      expect(fastest(samples.unknown) / known, report).toBeLessThan(2);
      expect(fastest(samples.old) / known, report).toBeGreaterThan(0.7);
    });
  });
});
