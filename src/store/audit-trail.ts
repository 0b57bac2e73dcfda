import type { EntityManager } from '@mikro-orm/postgresql';
import type { AuditEntry } from './entities/index.ts';
import { sqlIn } from './sql.ts';

/** Reading the audit trail (writing is insertAuditEntry, in the transaction of the change). */
/** An entry as read back; the bigint id as text (it may exceed a JS number). */
export type AuditRecord = Omit<AuditEntry, 'id' | 'tenantId'> & { id: string };

export interface AuditQuery {
  tenantId: string;
  userId?: string;
  actor?: string;
  /** Exact action, or a prefix ending in `.` (e.g. `user.`). */
  action?: string;
  since?: string;
  until?: string;
  /** Keyset: entries older than this id (ids follow insertion order). */
  beforeId?: string;
  limit: number;
}

/** Newest first; each filter uses one of the (tenant, user|actor, at) indexes. */
export async function findAuditEntries(em: EntityManager, query: AuditQuery): Promise<{ entries: AuditRecord[]; hasMore: boolean }> {
  const where = ['tenant_id = ?'];
  const params: unknown[] = [query.tenantId];
  const add = (clause: string, value: unknown) => {
    where.push(clause);
    params.push(value);
  };
  if (query.userId) add('user_id = ?', query.userId);
  if (query.actor) add('actor = ?', query.actor);
  if (query.action) query.action.endsWith('.') ? add('starts_with(action, ?)', query.action) : add('action = ?', query.action);
  if (query.since) add('at >= ?::timestamptz', query.since);
  if (query.until) add('at < ?::timestamptz', query.until);
  if (query.beforeId) add('id < ?::bigint', query.beforeId);
  const rows = await sqlIn(em)<AuditRecord>(
    `select id::text as id, at, actor, action, user_id as "userId", task_id as "taskId", details
       from audit_entries where ${where.join(' and ')} order by id desc limit ?`,
    [...params, query.limit + 1],
  );
  return { entries: rows.slice(0, query.limit), hasMore: rows.length > query.limit };
}
