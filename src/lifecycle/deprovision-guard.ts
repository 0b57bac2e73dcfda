import type { Policy } from './policy.ts';

/**
 * The mass-deprovision guard (DESIGN.md §2). A misconfigured IdP scoping rule or HR
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
 * How many users who can sign in are worth counting for guardHolds: past this many the
 * percentage allows `maxCount` or more, so the count limit binds alone and a count capped here
 * decides exactly as the full count would. Counting 100,000 users on every IdP deactivation is
 * what made a burst of them crawl; with the defaults this is 251.
 */
export function activeUsersWorthCounting(guard: DeprovisionGuard): number {
  // The least n with floor(n * maxPercent / 100) >= maxCount; one more against rounding.
  return Math.ceil((guard.maxCount * 100) / guard.maxPercent) + 1;
}

/**
 * Whether one more IdP deprovisioning, after `recent` ones (applied or held) within the window,
 * must be held.
 */
export function guardHolds(guard: DeprovisionGuard, recent: number, activeUsers: number): boolean {
  return guard.enabled && recent + 1 > guardLimit(guard, activeUsers);
}

/** Why the guard held one deprovisioning: the count it would have reached, the limit, the window. */
export interface GuardTrip {
  count: number;
  limit: number;
  windowMinutes: number;
}

export function guardTrip(guard: DeprovisionGuard, recent: number, activeUsers: number): GuardTrip {
  return { count: recent + 1, limit: guardLimit(guard, activeUsers), windowMinutes: guard.windowMinutes };
}
