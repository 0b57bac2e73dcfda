import type { EntityManager } from '@mikro-orm/postgresql';
import { resolvePolicy, type Policy } from '../lifecycle/policy.ts';
import { sqlIn } from './sql.ts';

/** A tenant's settings: its lifecycle policy (DESIGN.md §2), as stored and as resolved over the defaults. */
export interface TenantSettings {
  id: string;
  name: string;
  createdAt: Date;
  /** Stored as given (only the fields an admin set). */
  stored: Partial<Policy>;
  policy: Policy;
}

export async function findTenantSettings(em: EntityManager, tenantId: string, options: { lock?: boolean } = {}): Promise<TenantSettings | null> {
  const [row] = await sqlIn(em)<{ id: string; name: string; createdAt: Date; policy: Partial<Policy> }>(
    `select id, name, created_at as "createdAt", policy from tenants where id = ?${options.lock ? ' for update' : ''}`,
    [tenantId],
  );
  return row ? { id: row.id, name: row.name, createdAt: row.createdAt, stored: row.policy ?? {}, policy: resolvePolicy(row.policy) } : null;
}

export async function updateTenantPolicy(em: EntityManager, tenantId: string, policy: Partial<Policy>): Promise<void> {
  await sqlIn(em)(`update tenants set policy = ?::jsonb, updated_at = now() where id = ?`, [JSON.stringify(policy), tenantId]);
}
