import type { GuardTrip } from './deprovision-guard.ts';

/**
 * Why a task waits on a person, in the operator's words: the inbox shows this, not the reason
 * code. Null when the task has nothing to explain (its last error says the rest).
 */
export function describeTaskReason(task: { reason: string | null; state: string; result: Record<string, unknown> | null }): string | null {
  switch (task.reason) {
    case 'deprovision_guard': {
      const trip = task.result?.guard as GuardTrip | undefined;
      const base = 'The identity provider deactivated or deleted more users than the mass-deprovision guard allows';
      return trip ? `${base}: ${trip.count} in ${minutes(trip.windowMinutes)}, limit ${trip.limit}.` : `${base}.`;
    }
    case 'unable_to_retrieve':
      return "The user's app could not be reached to check for data not yet uploaded (device offline or app removed).";
    default:
      if (task.state === 'waiting_for_device') return "Waiting for the user's app to check in, so its data can be reset.";
      return task.reason ? task.reason.replaceAll('_', ' ') : null;
  }
}

function minutes(n: number): string {
  if (n % 1440 === 0) return n === 1440 ? '24 hours' : `${n / 1440} days`;
  if (n % 60 === 0 && n > 60) return `${n / 60} hours`;
  return n === 1 ? '1 minute' : `${n} minutes`;
}
