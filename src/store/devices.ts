import type { EntityManager } from '@mikro-orm/postgresql';
import { APP_DEVICE_KINDS } from '../lifecycle/pending-data.ts';
import type { Device, DeviceKind } from './entities/index.ts';
import { sqlIn } from './sql.ts';

// The rules name the app device kinds without knowing the table: they must be kinds it has.
APP_DEVICE_KINDS satisfies readonly DeviceKind[];

/** A user's devices: apps that check in, and soft and desk phones (device lines). */
export type DeviceRecord = Omit<Device, 'tenantId'>;

const COLUMNS = `id, user_id as "userId", kind, client_id as "clientId", name, mac, pending_items as "pendingItems",
  clear_history as "clearHistory", last_checkin_at as "lastCheckinAt", removed_at as "removedAt", created_at as "createdAt"`;

export async function findDevicesOfUsers(em: EntityManager, tenantId: string, userIds: readonly string[]): Promise<DeviceRecord[]> {
  const rows = await sqlIn(em)<DeviceRecord>(`select ${COLUMNS} from devices where tenant_id = ? and user_id = any(?::uuid[]) order by created_at, id`, [
    tenantId,
    `{${userIds.join(',')}}`,
  ]);
  return rows.map(normalise);
}

export async function findDeviceById(em: EntityManager, id: string): Promise<DeviceRecord | null> {
  const [row] = await sqlIn(em)<DeviceRecord>(`select ${COLUMNS} from devices where id = ?`, [id]);
  return row ? normalise(row) : null;
}

/**
 * Registers the device a client signs in from, or finds it again by its own id (unique per user):
 * signing in on a device that was removed brings it back.
 */
export async function upsertDevice(
  em: EntityManager,
  input: { tenantId: string; userId: string; clientId: string; kind: DeviceKind; name?: string | null },
): Promise<DeviceRecord> {
  const [row] = await sqlIn(em)<DeviceRecord>(
    `insert into devices (id, tenant_id, user_id, kind, client_id, name, pending_items, clear_history, created_at)
     values (gen_random_uuid(), ?, ?, ?, ?, ?, 0, false, now())
     on conflict (user_id, client_id) do update set kind = excluded.kind, name = coalesce(excluded.name, devices.name), removed_at = null
     returning ${COLUMNS}`,
    [input.tenantId, input.userId, input.kind, input.clientId, input.name ?? null],
  );
  return normalise(row!);
}

/**
 * Records a check-in: the pending count and the time (the database clock, which the reset's
 * online window compares with). Returns whether the device had been told to clear its history,
 * and clears that order: it is delivered with this answer.
 */
export async function recordDeviceCheckin(em: EntityManager, deviceId: string, pendingItems: number): Promise<{ clearHistory: boolean } | null> {
  const [row] = await sqlIn(em)<{ clear_history: boolean }>(
    `update devices d set pending_items = ?, last_checkin_at = now(), clear_history = false
       from devices old where d.id = ? and old.id = d.id returning old.clear_history`,
    [pendingItems, deviceId],
  );
  return row ? { clearHistory: row.clear_history } : null;
}

/** Raw rows carry timestamps as text; the rules (pending-data.ts) compare Dates. */
function normalise(row: DeviceRecord): DeviceRecord {
  const date = (value: Date | string | null) => (value === null ? null : new Date(value));
  return {
    ...row,
    pendingItems: Number(row.pendingItems),
    lastCheckinAt: date(row.lastCheckinAt),
    removedAt: date(row.removedAt),
    createdAt: date(row.createdAt)!,
  };
}

/** One live token per device: signing in again on it revokes the ones before. */
export async function revokeTokensOfDevice(em: EntityManager, deviceId: string): Promise<void> {
  await sqlIn(em)(`update api_tokens set revoked_at = now() where device_id = ? and kind = 'device' and revoked_at is null`, [deviceId]);
}

/** When a device token was last used (shown in token listings). */
export async function stampTokenUse(em: EntityManager, tokenId: string): Promise<void> {
  await sqlIn(em)(`update api_tokens set last_used_at = now() where id = ?`, [tokenId]);
}
