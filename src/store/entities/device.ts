import { EntitySchema, type OptionalProps } from '@mikro-orm/core';
import { createdAtColumn, uuidPrimaryKey } from './columns.ts';

/** mobile_app and desktop_app check in; soft_phone and desk_phone (by MAC) are device lines. */
export const DEVICE_KINDS = ['mobile_app', 'desktop_app', 'soft_phone', 'desk_phone'] as const;
export type DeviceKind = (typeof DEVICE_KINDS)[number];

export interface Device {
  [OptionalProps]?: 'id' | 'name' | 'mac' | 'pendingItems' | 'clearHistory' | 'lastCheckinAt' | 'removedAt' | 'createdAt';
  id: string;
  tenantId: string;
  userId: string;
  kind: DeviceKind;
  /** The client's own identifier for itself (unique per user). */
  clientId: string;
  name: string | null;
  mac: string | null;
  /** Records still waiting on the device, as of its last check-in. */
  pendingItems: number;
  /** Set by disable, delete and deprovision: the next check-in answers `clearHistory: true`. */
  clearHistory: boolean;
  lastCheckinAt: Date | null;
  removedAt: Date | null;
  createdAt: Date;
}

export const DeviceSchema = new EntitySchema<Device>({
  name: 'Device',
  tableName: 'devices',
  properties: {
    id: uuidPrimaryKey,
    tenantId: { kind: 'm:1', entity: 'Tenant', mapToPk: true, deleteRule: 'cascade', fieldName: 'tenant_id' },
    userId: { kind: 'm:1', entity: 'User', mapToPk: true, deleteRule: 'cascade', fieldName: 'user_id' },
    kind: { enum: true, items: () => DEVICE_KINDS },
    clientId: { type: 'text' },
    name: { type: 'text', nullable: true },
    mac: { type: 'text', nullable: true },
    pendingItems: { type: 'integer', default: 0 },
    clearHistory: { type: 'boolean', default: false },
    lastCheckinAt: { type: 'Date', columnType: 'timestamptz', nullable: true },
    removedAt: { type: 'Date', columnType: 'timestamptz', nullable: true },
    createdAt: createdAtColumn,
  },
  uniques: [{ name: 'devices_user_client_id_key', properties: ['userId', 'clientId'] }],
  checks: [
    { name: 'devices_pending_items_check', expression: 'pending_items >= 0' },
  ],
});
