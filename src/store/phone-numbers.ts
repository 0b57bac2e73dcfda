import type { EntityManager } from '@mikro-orm/postgresql';
import type { PhoneNumberState } from './entities/index.ts';
import { sqlIn } from './sql.ts';

/** The tenant's number inventory and who each number is routed to. */
export interface PhoneNumberRecord {
  id: string;
  number: string;
  state: PhoneNumberState;
  userId: string | null;
  assignedAt: Date | null;
  createdAt: Date;
}

const COLUMNS = `id, number, state, user_id as "userId", assigned_at as "assignedAt", created_at as "createdAt"`;

export async function findPhoneNumbers(em: EntityManager, tenantId: string, options: { state?: PhoneNumberState; userIds?: readonly string[] } = {}): Promise<PhoneNumberRecord[]> {
  const where = ['tenant_id = ?'];
  const params: unknown[] = [tenantId];
  if (options.state) {
    where.push('state = ?');
    params.push(options.state);
  }
  if (options.userIds) {
    where.push('user_id = any(?::uuid[])');
    params.push(`{${options.userIds.join(',')}}`);
  }
  return sqlIn(em)<PhoneNumberRecord>(`select ${COLUMNS} from phone_numbers where ${where.join(' and ')} order by number`, params);
}

/** Adds an available number; an existing one surfaces as phone_numbers_tenant_number_key. */
export async function insertPhoneNumber(em: EntityManager, tenantId: string, number: string): Promise<PhoneNumberRecord> {
  const [row] = await sqlIn(em)<PhoneNumberRecord>(
    `insert into phone_numbers (id, tenant_id, number, state, created_at) values (gen_random_uuid(), ?, ?, 'available', now()) returning ${COLUMNS}`,
    [tenantId, number],
  );
  return row!;
}

export type AssignNumberResult =
  | { ok: true; number: PhoneNumberRecord | null; released: string[] }
  | { ok: false; code: 'number_not_found' | 'number_taken' };

/**
 * Routes `number` to the user (one number per user: the previous one goes back to available), or
 * with null only releases the user's number. The number row is locked, so two operators giving
 * the same number to two people cannot both win.
 */
export async function assignPhoneNumber(em: EntityManager, tenantId: string, userId: string, number: string | null): Promise<AssignNumberResult> {
  const sql = sqlIn(em);
  let target: PhoneNumberRecord | undefined;
  if (number !== null) {
    [target] = await sql<PhoneNumberRecord>(`select ${COLUMNS} from phone_numbers where tenant_id = ? and number = ? for update`, [tenantId, number]);
    if (!target) return { ok: false, code: 'number_not_found' };
    if (target.userId && target.userId !== userId) return { ok: false, code: 'number_taken' };
  }
  const released = await sql<{ number: string }>(
    `update phone_numbers set state = 'available', user_id = null, assigned_at = null
      where tenant_id = ? and user_id = ? and (?::text is null or number <> ?) returning number`,
    [tenantId, userId, number, number],
  );
  if (!target) return { ok: true, number: null, released: released.map((r) => r.number) };
  const [assigned] = await sql<PhoneNumberRecord>(
    `update phone_numbers set state = 'assigned', user_id = ?, assigned_at = coalesce(assigned_at, now()) where id = ? returning ${COLUMNS}`,
    [userId, target.id],
  );
  return { ok: true, number: assigned!, released: released.map((r) => r.number) };
}
