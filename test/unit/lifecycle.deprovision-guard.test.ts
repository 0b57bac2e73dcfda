import { describe, expect, it } from 'vitest';
import { guardHolds, guardLimit } from '../../src/lifecycle/deprovision-guard.ts';
import { DEFAULT_POLICY } from '../../src/lifecycle/policy.ts';

const guard = DEFAULT_POLICY.deprovisionGuard; // 25 users or 10 %, 60 minutes

describe('mass-deprovision guard', () => {
  it('takes the smaller of the count and the percentage of active users', () => {
    expect(guardLimit(guard, 10_000)).toBe(25);
    expect(guardLimit(guard, 100)).toBe(10);
    expect(guardLimit(guard, 249)).toBe(24);
  });

  it('never lets the limit fall to zero in a tiny tenant', () => {
    expect(guardLimit(guard, 3)).toBe(1);
    expect(guardLimit(guard, 0)).toBe(1);
  });

  it('holds the first deprovisioning past the limit, not the one that reaches it', () => {
    expect(guardHolds(guard, 9, 100)).toBe(false); // the 10th
    expect(guardHolds(guard, 10, 100)).toBe(true); // the 11th
  });

  it('holds nothing when switched off', () => {
    expect(guardHolds({ ...guard, enabled: false }, 10_000, 100)).toBe(false);
  });
});
