import { randomUUID } from 'node:crypto';

/** Column definitions every entity shares: a UUID key made by the application, and timestamps. */
export const uuidPrimaryKey = {
  type: 'uuid',
  primary: true,
  onCreate: () => randomUUID(),
} as const;

export const createdAtColumn = {
  type: 'Date',
  columnType: 'timestamptz',
  defaultRaw: 'now()',
  onCreate: () => new Date(),
} as const;

export const updatedAtColumn = {
  type: 'Date',
  columnType: 'timestamptz',
  defaultRaw: 'now()',
  onCreate: () => new Date(),
  onUpdate: () => new Date(),
} as const;
