/**
 * App access reset with pending data (DESIGN.md §2): before a reset cuts a user's apps off, data
 * still waiting on a device must reach the server or be given up knowingly. This module decides,
 * from what the devices last reported, whether the reset may go on now. Pure: the reset job reads
 * the devices and the clock and acts on the answer.
 *
 * Per app device (mobile_app, desktop_app; soft and desk phones hold no app data):
 * - removed (the app was uninstalled or the device deregistered): blocks when it still had
 *   pending items at its last check-in (they can never arrive); ignored otherwise.
 * - offline: never checked in, or its last check-in is older than the online window. It blocks
 *   whatever count it last reported: nobody can tell what it holds now.
 * - online: checked in within the window (a check-in exactly `onlineWindowMs` old still counts;
 *   one stamped slightly in the future, clock skew, counts too).
 *   With pending items the reset waits for its next check-in; with none it is ready.
 *
 * The decision over all devices, strongest first:
 * 1. any blocking device -> `needs_decision` (`unable_to_retrieve`). This wins over an online
 *    device that is still uploading: waiting cannot make an offline phone answer, so the operator
 *    is asked at once (retry later, or skip pending data knowingly) instead of after the upload.
 *    So "one online with 0 pending, one offline" is `needs_decision`: the offline one may hold
 *    data nobody has seen.
 * 2. any online device with pending items -> `wait`, retried after a backoff that doubles with
 *    the attempt number (5 s, 10 s, 20 s, ... capped at 5 minutes); a check-in reporting zero
 *    pending items wakes the task sooner.
 * 3. otherwise (no app device at all, or every app device online with nothing pending, plus
 *    removed ones that had nothing pending) -> `proceed`.
 *
 * Every answer carries the per-device report and the total pending count, so an operator sees
 * what is at stake before skipping.
 */
/** A device that has not checked in for longer than this is offline. */
export const DEVICE_ONLINE_WINDOW_MS = 5 * 60_000;
/** First wait for an online device still uploading; doubles with each attempt. */
export const PENDING_DATA_INITIAL_RETRY_MS = 5_000;
/** The longest wait between two looks at a device still uploading. */
export const PENDING_DATA_MAX_RETRY_MS = 5 * 60_000;
/**
 * Kinds of device that run the app and hold data until they upload it. A device's kind is the
 * device row's (the devices table declares every kind, and the store checks that these are two of
 * them); the decision only asks whether a device is of one of these.
 */
export const APP_DEVICE_KINDS = Object.freeze(['mobile_app', 'desktop_app'] as const);
const APP_KINDS: ReadonlySet<string> = new Set(APP_DEVICE_KINDS);

/** What the decision reads of a device (a Device row fits). */
export interface PendingDataDevice {
  readonly id: string;
  readonly kind: string;
  readonly name?: string | null;
  /** Records waiting on the device as of its last check-in. */
  readonly pendingItems: number;
  readonly lastCheckinAt: Date | null;
  readonly removedAt: Date | null;
}

export type AppDeviceState = 'online' | 'offline' | 'removed';

/** One app device as the operator sees it; JSON-ready (it goes into task results and audit). */
export interface AppDeviceReport {
  id: string;
  kind: string;
  name: string | null;
  state: AppDeviceState;
  pendingItems: number;
  lastCheckinAt: string | null;
  /** This device keeps the reset from going on by itself. */
  blocking: boolean;
}

interface Report {
  /** Sum of the app devices' last reported pending items (removed ones included). */
  pendingItems: number;
  devices: AppDeviceReport[];
}

export type PendingDataDecision =
  | ({ decision: 'proceed' } & Report)
  | ({ decision: 'wait'; retryInMs: number } & Report)
  | ({ decision: 'needs_decision'; reason: 'unable_to_retrieve' } & Report);

export interface PendingDataOptions {
  /** 1 for the first look; the backoff doubles from there. Default 1. */
  attempt?: number;
  onlineWindowMs?: number;
  initialRetryMs?: number;
  maxRetryMs?: number;
}

export function decidePendingData(
  devices: readonly PendingDataDevice[],
  now: Date,
  options: PendingDataOptions = {},
): PendingDataDecision {
  const windowMs = options.onlineWindowMs ?? DEVICE_ONLINE_WINDOW_MS;
  const reports = devices.filter((d) => APP_KINDS.has(d.kind)).map((d) => describeDevice(d, now, windowMs));
  const report: Report = { pendingItems: reports.reduce((sum, d) => sum + d.pendingItems, 0), devices: reports };

  if (reports.some((d) => d.blocking)) return { decision: 'needs_decision', reason: 'unable_to_retrieve', ...report };
  if (reports.some((d) => d.state === 'online' && d.pendingItems > 0)) {
    return { decision: 'wait', retryInMs: pendingDataBackoff(options.attempt ?? 1, options), ...report };
  }
  return { decision: 'proceed', ...report };
}

/** The wait before attempt `attempt + 1`: initial * 2^(attempt-1), capped. */
export function pendingDataBackoff(attempt: number, options: Pick<PendingDataOptions, 'initialRetryMs' | 'maxRetryMs'> = {}): number {
  const initial = options.initialRetryMs ?? PENDING_DATA_INITIAL_RETRY_MS;
  const max = options.maxRetryMs ?? PENDING_DATA_MAX_RETRY_MS;
  // Attempts start at 1; anything lower (or not a number) is the first look. The exponent is
  // bounded so a task that waited for days cannot overflow to Infinity.
  const n = Number.isFinite(attempt) ? Math.min(Math.max(Math.floor(attempt), 1), 32) : 1;
  return Math.min(initial * 2 ** (n - 1), max);
}

function describeDevice(device: PendingDataDevice, now: Date, windowMs: number): AppDeviceReport {
  const pendingItems = Math.max(0, device.pendingItems);
  const state: AppDeviceState = device.removedAt
    ? 'removed'
    : device.lastCheckinAt && now.getTime() - device.lastCheckinAt.getTime() <= windowMs
      ? 'online'
      : 'offline';
  return {
    id: device.id,
    kind: device.kind,
    name: device.name ?? null,
    state,
    pendingItems,
    lastCheckinAt: device.lastCheckinAt?.toISOString() ?? null,
    blocking: state === 'offline' || (state === 'removed' && pendingItems > 0),
  };
}
