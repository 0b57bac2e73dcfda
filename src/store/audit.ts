import type { EntityManager } from '@mikro-orm/postgresql';
import { AuditEntrySchema, type AuditEntry } from './entities/index.ts';
import { insertSelect, sqlExpression, sqlIn, sqlRun, type SqlFragment, type InsertColumn, type SqlExpression } from './sql.ts';

/**
 * Writing the audit trail: the only code that does (reading it is src/store/audit-trail.ts). An
 * entry is written in the transaction of the change it describes, so it commits (or not) with it.
 * Never put a secret in `details`.
 */
export interface AuditInput {
  tenantId: string;
  actor: string;
  action: string;
  userId?: string | null;
  taskId?: string | null;
  details?: Record<string, unknown>;
}

/**
 * Adds an audit entry to the caller's unit of work (the ORM's), written at its next flush or
 * commit. New code calls insertAuditEntries, which writes at once.
 */
export function insertAuditEntry(em: EntityManager, input: AuditInput): AuditEntry {
  return em.create(AuditEntrySchema, {
    tenantId: input.tenantId,
    actor: input.actor,
    action: input.action,
    userId: input.userId ?? null,
    taskId: input.taskId ?? null,
    details: input.details ?? {},
  });
}

/** The entries, at once, in one statement whatever their number. */
export async function insertAuditEntries(em: EntityManager, entries: readonly AuditInput[]): Promise<void> {
  if (!entries.length) return;
  const insert = insertAuditEntriesSql(
    {
      tenantId: sqlExpression('a.tenant_id'),
      actor: sqlExpression('a.actor'),
      action: sqlExpression('a.action'),
      userId: sqlExpression('a.user_id'),
      taskId: sqlExpression('a.task_id'),
      details: sqlExpression('a.details'),
    },
    {
      sql: 'jsonb_to_recordset(?::jsonb) as a(tenant_id uuid, actor text, action text, user_id uuid, task_id uuid, details jsonb)',
      params: [
        JSON.stringify(
          entries.map((e) => ({ tenant_id: e.tenantId, actor: e.actor, action: e.action, user_id: e.userId ?? null, task_id: e.taskId ?? null, details: e.details ?? {} })),
        ),
      ],
    },
  );
  await sqlRun(em)(insert.sql, insert.params);
}

/** The columns of an audit insert; those left out take their defaults (`at` is the transaction's time). */
export interface AuditInsertValues {
  tenantId: string | SqlExpression;
  actor: string | SqlExpression;
  action: string | SqlExpression;
  userId?: string | null | SqlExpression;
  taskId?: string | null | SqlExpression;
  details?: Record<string, unknown> | SqlExpression;
}

const AUDIT_INSERT: Record<keyof AuditInsertValues | 'at', InsertColumn> = {
  tenantId: { column: 'tenant_id', cast: 'uuid' },
  at: { column: 'at', cast: 'timestamptz', default: 'now()' },
  actor: { column: 'actor', cast: 'text' },
  action: { column: 'action', cast: 'text' },
  userId: { column: 'user_id', cast: 'uuid', default: 'null' },
  taskId: { column: 'task_id', cast: 'uuid', default: 'null' },
  details: { column: 'details', cast: 'jsonb', default: `'{}'::jsonb` },
};

/**
 * `insert into audit_entries (...) select ... from <from>`: the one column list and defaults of an
 * audit insert, for store code that audits inside a larger statement (a CTE beside the change it
 * describes: one round trip for both). Values are constants or expressions over `from`'s rows.
 */
export function insertAuditEntriesSql(values: AuditInsertValues, from?: SqlFragment): SqlFragment {
  return insertSelect('audit_entries', AUDIT_INSERT, values as unknown as Record<string, unknown>, from);
}

/**
 * GDPR erasure: a purged user's earlier entries keep the pseudonymous id and the actions, not the
 * person's details.
 */
export async function erasePersonalDetailsFromAudit(em: EntityManager, userId: string): Promise<void> {
  await sqlIn(em)(`update audit_entries set details = details - 'userName' - 'email' - 'firstName' - 'lastName' - 'displayName' where user_id = ?`, [
    userId,
  ]);
}
