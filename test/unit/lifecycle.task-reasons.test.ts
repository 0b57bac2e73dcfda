import { describe, expect, it } from 'vitest';
import { guardTrip } from '../../src/lifecycle/deprovision-guard.ts';
import { describeTaskReason } from '../../src/lifecycle/task-reasons.ts';

const guard = { enabled: true, maxCount: 25, maxPercent: 10, windowMinutes: 60 };

describe('describeTaskReason', () => {
  it("says why the guard held a task with the guard's own numbers", () => {
    // 25 already applied or held in the window, 1,000 users who can sign in: this would be the 26th.
    const trip = guardTrip(guard, 25, 1000);
    expect(trip).toEqual({ count: 26, limit: 25, windowMinutes: 60 });
    expect(describeTaskReason({ reason: 'deprovision_guard', state: 'held', result: { guard: trip } })).toBe(
      'The identity provider deactivated or deleted more users than the mass-deprovision guard allows: 26 in 60 minutes, limit 25.',
    );
  });

  it('uses the percentage limit of a small tenant and names long windows in hours or days', () => {
    const trip = guardTrip({ ...guard, windowMinutes: 2880 }, 4, 40);
    expect(trip.limit).toBe(4);
    expect(describeTaskReason({ reason: 'deprovision_guard', state: 'held', result: { guard: trip } })).toMatch(/: 5 in 2 days, limit 4\.$/);
    expect(describeTaskReason({ reason: 'deprovision_guard', state: 'held', result: { guard: guardTrip({ ...guard, windowMinutes: 180 }, 30, 9000) } })).toMatch(/31 in 3 hours/);
  });

  it('still explains a held task recorded before the numbers were kept', () => {
    expect(describeTaskReason({ reason: 'deprovision_guard', state: 'held', result: null })).toBe(
      'The identity provider deactivated or deleted more users than the mass-deprovision guard allows.',
    );
  });

  it('explains a reset that could not check for pending data, and one waiting for a device', () => {
    expect(describeTaskReason({ reason: 'unable_to_retrieve', state: 'needs_decision', result: null })).toMatch(/could not be reached/);
    expect(describeTaskReason({ reason: null, state: 'waiting_for_device', result: null })).toMatch(/check in/);
    expect(describeTaskReason({ reason: null, state: 'failed', result: null })).toBeNull();
  });
});
