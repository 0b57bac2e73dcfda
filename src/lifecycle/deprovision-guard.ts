import type { Policy } from './policy.ts';

/**
 * The mass-deprovision guard (DESIGN.md §2, issue 7). A misconfigured IdP scoping rule or HR
 * export can deactivate or delete a whole company in minutes; past the tenant's limit within its
 * window, the effects of further IdP-driven deactivations and deletions wait as `held` tasks for
 * an admin's approval. The IdP is still answered as it expects (its requested state is recorded).
 *
 * The limit is the smaller of `maxCount` and `maxPercent` of the users who can sign in (at least
 * one), so a small tenant is protected by the percentage and a large one by the count.
 */
export type DeprovisionGuard = Policy['deprovisionGuard'];

export function guardLimit(guard: DeprovisionGuard, activeUsers: number): number {
  const byPercent = Math.max(1, Math.floor((activeUsers * guard.maxPercent) / 100));
  return Math.min(guard.maxCount, byPercent);
}

/**
 * How many users who can sign in are worth counting to decide guardHolds after `recent`: past
 * this many the percentage no longer binds, so a count capped here decides exactly as the full
 * count would (0: the count limit decides alone). Counting 100,000 users under the tenant's
 * guard lock on every deactivation is what made a burst of them crawl.
 */
export function activeUsersWorthCounting(guard: DeprovisionGuard, recent: number): number {
  if (recent + 1 > guard.maxCount) return 0;
  // The least n with floor(n * maxPercent / 100) >= recent + 1; one more against rounding.
  return Math.ceil(((recent + 1) * 100) / guard.maxPercent) + 1;
}

/**
 * Whether one more IdP deprovisioning, after `recent` ones (applied or held) within the window,
 * must be held.
 */
export function guardHolds(guard: DeprovisionGuard, recent: number, activeUsers: number): boolean {
  return guard.enabled && recent + 1 > guardLimit(guard, activeUsers);
}
