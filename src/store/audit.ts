import type { EntityManager } from '@mikro-orm/postgresql';
import { AuditEntrySchema, type AuditEntry } from './entities/index.ts';
import { sqlIn } from './sql.ts';

export interface AuditInput {
  tenantId: string;
  actor: string;
  action: string;
  userId?: string | null;
  taskId?: string | null;
  details?: Record<string, unknown>;
}

/**
 * Adds an audit entry to the caller's unit of work, so it commits (or not) with the change it
 * describes. Never put a secret in `details`.
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

/** Writes an audit entry now (one statement), in the caller's transaction. Never put a secret in `details`. */
export async function recordAuditEntry(em: EntityManager, input: AuditInput): Promise<void> {
  await sqlIn(em)(`insert into audit_entries (tenant_id, at, actor, action, user_id, task_id, details) values (?, now(), ?, ?, ?, ?, ?::jsonb)`, [
    input.tenantId,
    input.actor,
    input.action,
    input.userId ?? null,
    input.taskId ?? null,
    JSON.stringify(input.details ?? {}),
  ]);
}
