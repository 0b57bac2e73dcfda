import { EntitySchema, type OptionalProps } from '@mikro-orm/core';

/**
 * One line of the audit trail. `userId` is deliberately not a foreign key: after a permanent
 * delete the entry keeps only that pseudonymous id, and the trail outlives the user.
 */
export interface AuditEntry {
  [OptionalProps]?: 'id' | 'at' | 'userId' | 'taskId' | 'details';
  id: string;
  tenantId: string;
  at: Date;
  /** `scim:<token id>`, `admin:<token id>`, `operator:<user id>`, `device:<device id>`, `user:<id>`, `system`. */
  actor: string;
  action: string;
  userId: string | null;
  taskId: string | null;
  details: Record<string, unknown>;
}

export const AuditEntrySchema = new EntitySchema<AuditEntry>({
  name: 'AuditEntry',
  tableName: 'audit_entries',
  properties: {
    // bigint identity: insertion order is the trail's order, and cursors are plain integers.
    id: { type: 'bigint', primary: true, autoincrement: true },
    tenantId: { kind: 'm:1', entity: 'Tenant', mapToPk: true, deleteRule: 'cascade', fieldName: 'tenant_id' },
    at: { type: 'Date', columnType: 'timestamptz', onCreate: () => new Date() },
    actor: { type: 'text' },
    action: { type: 'text' },
    userId: { type: 'uuid', nullable: true },
    taskId: { type: 'uuid', nullable: true },
    details: { type: 'json', defaultRaw: "'{}'" },
  },
  indexes: [
    { name: 'audit_entries_tenant_at_idx', properties: ['tenantId', 'at'] },
    { name: 'audit_entries_tenant_user_at_idx', properties: ['tenantId', 'userId', 'at'] },
    { name: 'audit_entries_tenant_actor_at_idx', properties: ['tenantId', 'actor', 'at'] },
    // The mass-deprovision guard counts these within its window on every IdP deactivation.
    {
      name: 'audit_entries_idp_deprovision_idx',
      expression: `create index "audit_entries_idp_deprovision_idx" on "audit_entries" ("tenant_id", "at") where "action" in ('user.scim_deactivate', 'user.scim_delete')`,
    },
  ],
});
