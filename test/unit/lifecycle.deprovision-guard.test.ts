import { describe, expect, it } from 'vitest';
import { activeUsersWorthCounting, guardHolds, guardLimit } from '../../src/lifecycle/deprovision-guard.ts';
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

  it('decides the same on a count of active users capped where the percentage stops binding', () => {
    for (const g of [guard, { ...guard, maxCount: 500, maxPercent: 7.3 }, { ...guard, maxCount: 3, maxPercent: 0.1 }, { ...guard, maxPercent: 100 }]) {
      const cap = activeUsersWorthCounting(g);
      for (let recent = 0; recent <= g.maxCount + 2; recent++) {
        for (const active of [0, 1, 2, 9, 10, 11, 99, 100, 101, 249, 250, 251, 1000, 6849, 6850, 6851, 100_000]) {
          expect(guardHolds(g, recent, Math.min(active, cap)), `recent ${recent}, active ${active}, cap ${cap}`).toBe(guardHolds(g, recent, active));
        }
      }
    }
    // The default guard (25 users or 10 %) needs to know only whether 251 users can sign in.
    expect(activeUsersWorthCounting(guard)).toBe(251);
  });
});
