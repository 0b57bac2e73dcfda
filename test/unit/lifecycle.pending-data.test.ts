import { describe, expect, it } from 'vitest';
import {
  DEVICE_ONLINE_WINDOW_MS,
  PENDING_DATA_INITIAL_RETRY_MS,
  PENDING_DATA_MAX_RETRY_MS,
  decidePendingData,
  pendingDataBackoff,
  type PendingDataDevice,
} from '../../src/lifecycle/pending-data.ts';

const NOW = new Date('2026-11-26T12:00:00.000Z');
const ago = (ms: number) => new Date(NOW.getTime() - ms);
let n = 0;
const device = (fields: Partial<PendingDataDevice> = {}): PendingDataDevice => ({
  id: `device-${++n}`,
  kind: 'mobile_app',
  pendingItems: 0,
  lastCheckinAt: ago(1_000),
  removedAt: null,
  ...fields,
});

describe('decidePendingData: proceed', () => {
  it('proceeds for a user with no registered device: there is no app data to wait for', () => {
    expect(decidePendingData([], NOW)).toEqual({ decision: 'proceed', pendingItems: 0, devices: [] });
  });

  it('proceeds when every app device is online and reports nothing pending', () => {
    const decision = decidePendingData([device(), device({ kind: 'desktop_app', lastCheckinAt: ago(60_000) })], NOW);
    expect(decision.decision).toBe('proceed');
    expect(decision.devices.map((d) => [d.kind, d.state, d.blocking])).toEqual([
      ['mobile_app', 'online', false],
      ['desktop_app', 'online', false],
    ]);
  });

  it('ignores soft phones and desk phones, even offline ones: they hold no app data', () => {
    const decision = decidePendingData(
      [device({ kind: 'soft_phone', lastCheckinAt: null }), device({ kind: 'desk_phone', lastCheckinAt: ago(86_400_000), pendingItems: 3 })],
      NOW,
    );
    expect(decision).toEqual({ decision: 'proceed', pendingItems: 0, devices: [] });
  });

  it('proceeds past an app that was removed with nothing pending, listing it as removed', () => {
    const decision = decidePendingData([device({ removedAt: ago(3_600_000), lastCheckinAt: ago(7_200_000) })], NOW);
    expect(decision.decision).toBe('proceed');
    expect(decision.devices).toEqual([expect.objectContaining({ state: 'removed', pendingItems: 0, blocking: false })]);
  });
});

describe('decidePendingData: wait', () => {
  it('waits for an online device with pending items, reporting its count', () => {
    const phone = device({ pendingItems: 4, name: "Kaylee's phone" });
    const decision = decidePendingData([phone], NOW);
    expect(decision).toEqual({
      decision: 'wait',
      retryInMs: PENDING_DATA_INITIAL_RETRY_MS,
      pendingItems: 4,
      devices: [
        {
          id: phone.id,
          kind: 'mobile_app',
          name: "Kaylee's phone",
          state: 'online',
          pendingItems: 4,
          lastCheckinAt: phone.lastCheckinAt!.toISOString(),
          blocking: false,
        },
      ],
    });
  });

  it('waits when one online device is uploading and another online one is done', () => {
    const decision = decidePendingData([device({ pendingItems: 2 }), device({ kind: 'desktop_app' })], NOW);
    expect(decision).toMatchObject({ decision: 'wait', pendingItems: 2 });
  });

  it('backs off doubling with the attempt number from 5 s, capped at 5 minutes', () => {
    const wait = (attempt: number) => {
      const decision = decidePendingData([device({ pendingItems: 1 })], NOW, { attempt });
      return decision.decision === 'wait' ? decision.retryInMs : undefined;
    };
    expect([1, 2, 3, 4, 5, 6, 7, 8, 50].map(wait)).toEqual([5_000, 10_000, 20_000, 40_000, 80_000, 160_000, 300_000, 300_000, 300_000]);
    expect(PENDING_DATA_MAX_RETRY_MS).toBe(300_000);
  });

  it('treats a missing, zero or nonsense attempt number as the first look', () => {
    expect([0, -3, Number.NaN, 1.9].map((a) => pendingDataBackoff(a))).toEqual([5_000, 5_000, 5_000, 5_000]);
    expect(pendingDataBackoff(1_000_000)).toBe(PENDING_DATA_MAX_RETRY_MS);
    expect(pendingDataBackoff(3, { initialRetryMs: 100, maxRetryMs: 250 })).toBe(250);
  });
});

describe('decidePendingData: needs_decision (unable to retrieve)', () => {
  it('stops for an offline device (last check-in older than the window), whatever it last reported', () => {
    const decision = decidePendingData([device({ lastCheckinAt: ago(DEVICE_ONLINE_WINDOW_MS + 60_000), pendingItems: 0 })], NOW);
    expect(decision).toMatchObject({ decision: 'needs_decision', reason: 'unable_to_retrieve', pendingItems: 0 });
    expect(decision.devices[0]).toMatchObject({ state: 'offline', blocking: true });
  });

  it('stops for a device that registered but never checked in', () => {
    const decision = decidePendingData([device({ lastCheckinAt: null })], NOW);
    expect(decision).toMatchObject({ decision: 'needs_decision', devices: [{ state: 'offline', lastCheckinAt: null }] });
  });

  it('stops for an app removed while it still had pending items', () => {
    const decision = decidePendingData([device({ removedAt: ago(1_000), pendingItems: 7 })], NOW);
    expect(decision).toMatchObject({ decision: 'needs_decision', reason: 'unable_to_retrieve', pendingItems: 7 });
    expect(decision.devices[0]).toMatchObject({ state: 'removed', blocking: true });
  });

  it('with one device online and empty and one offline, stops: the offline one may hold unseen data', () => {
    const decision = decidePendingData([device(), device({ kind: 'desktop_app', lastCheckinAt: ago(3_600_000), pendingItems: 1 })], NOW);
    expect(decision).toMatchObject({ decision: 'needs_decision', pendingItems: 1 });
    expect(decision.devices.map((d) => [d.state, d.blocking])).toEqual([
      ['online', false],
      ['offline', true],
    ]);
  });

  it('asks the operator at once rather than waiting when one device uploads and another is offline', () => {
    const decision = decidePendingData([device({ pendingItems: 5 }), device({ lastCheckinAt: null })], NOW);
    expect(decision).toMatchObject({ decision: 'needs_decision', pendingItems: 5 });
  });
});

describe('decidePendingData: the online window', () => {
  const at = (age: number, options = {}) => decidePendingData([device({ lastCheckinAt: ago(age) })], NOW, options).decision;

  it('defaults to five minutes', () => {
    expect(DEVICE_ONLINE_WINDOW_MS).toBe(5 * 60_000);
  });

  it('counts a check-in exactly one window old as online, and one millisecond older as offline', () => {
    expect(at(DEVICE_ONLINE_WINDOW_MS)).toBe('proceed');
    expect(at(DEVICE_ONLINE_WINDOW_MS + 1)).toBe('needs_decision');
  });

  it('counts a check-in stamped slightly in the future (clock skew) as online', () => {
    expect(at(-2_000)).toBe('proceed');
  });

  it('takes another window when given one', () => {
    expect(at(90_000, { onlineWindowMs: 60_000 })).toBe('needs_decision');
    expect(at(90_000, { onlineWindowMs: 120_000 })).toBe('proceed');
  });

  it('applies the window to pending devices too: an uploading device gone quiet is offline', () => {
    const quiet = decidePendingData([device({ pendingItems: 3, lastCheckinAt: ago(DEVICE_ONLINE_WINDOW_MS + 1) })], NOW);
    expect(quiet).toMatchObject({ decision: 'needs_decision', pendingItems: 3 });
  });
});
