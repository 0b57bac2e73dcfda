import { EntitySchema, type OptionalProps } from '@mikro-orm/core';

/** How a SCIM request ended, by HTTP status class (also the `turnover_scim_operations_total` outcome label). */
export const PROVISIONING_OUTCOMES = ['ok', 'client_error', 'server_error'] as const;
export type ProvisioningOutcome = (typeof PROVISIONING_OUTCOMES)[number];

/**
 * One SCIM request as the provisioning log keeps it (src/store/provisioning-log.ts writes it):
 * who sent it (the SCIM token, i.e. the IdP connection), what it touched and how it ended. Never a
 * request body, a password or a token. `tokenId` and `resourceId` are not foreign keys: a row
 * outlives the token and the user it names, until retention prunes it.
 */
export interface ProvisioningLogEntry {
  [OptionalProps]?: 'id';
  id: string;
  tenantId: string;
  /** When the request arrived (rows are written a moment later, in batches). */
  at: Date;
  tokenId: string | null;
  method: string;
  /** The path under /scim/v2, without the query. */
  path: string;
  /** `User`, `Group`, `Bulk`, or the discovery resource; null for an unknown path. */
  resourceType: string | null;
  /** create, replace, patch, delete, get, list; null for discovery and unknown paths. */
  operation: string | null;
  resourceId: string | null;
  /** The user's userName or the group's displayName, when the request named it. */
  resourceName: string | null;
  status: number;
  outcome: ProvisioningOutcome;
  scimType: string | null;
  detail: string | null;
  /** The client's `client-request-id` (Entra) or `x-request-id`. */
  requestId: string | null;
  durationMs: number;
  /** A list request's filter, with values of secret-named attributes redacted. */
  filter: string | null;
  /** The attributes a PATCH named (paths without their filters), or a create's or replace's top-level attributes. */
  attributes: string[] | null;
}

export const ProvisioningLogEntrySchema = new EntitySchema<ProvisioningLogEntry>({
  name: 'ProvisioningLogEntry',
  tableName: 'provisioning_log',
  properties: {
    id: { type: 'bigint', primary: true, autoincrement: true },
    tenantId: { kind: 'm:1', entity: 'Tenant', mapToPk: true, deleteRule: 'cascade', fieldName: 'tenant_id' },
    at: { type: 'Date', columnType: 'timestamptz' },
    tokenId: { type: 'uuid', nullable: true },
    method: { type: 'text' },
    path: { type: 'text' },
    resourceType: { type: 'text', nullable: true },
    operation: { type: 'text', nullable: true },
    resourceId: { type: 'uuid', nullable: true },
    resourceName: { type: 'text', nullable: true },
    status: { type: 'smallint' },
    outcome: { enum: true, items: () => PROVISIONING_OUTCOMES },
    scimType: { type: 'text', nullable: true },
    detail: { type: 'text', nullable: true },
    requestId: { type: 'text', nullable: true },
    durationMs: { type: 'real' },
    filter: { type: 'text', nullable: true },
    attributes: { type: 'text[]', nullable: true },
  },
  indexes: [
    // Newest first per tenant, with or without a time range; keyset (at, id).
    { name: 'provisioning_log_tenant_at_idx', properties: ['tenantId', 'at', 'id'] },
    // A user's (or group's) SCIM history, from the user page.
    { name: 'provisioning_log_tenant_resource_at_idx', properties: ['tenantId', 'resourceId', 'at', 'id'] },
    // A refused create names its user only by userName (a 409: that userName is taken): such rows
    // join the user's history by name.
    {
      name: 'provisioning_log_tenant_name_at_idx',
      expression: `create index "provisioning_log_tenant_name_at_idx" on "provisioning_log" ("tenant_id", lower("resource_name"), "at", "id") where "resource_id" is null and "resource_name" is not null`,
    },
    // "What failed": refusals are few beside the successes.
    {
      name: 'provisioning_log_tenant_failed_at_idx',
      expression: `create index "provisioning_log_tenant_failed_at_idx" on "provisioning_log" ("tenant_id", "outcome", "at", "id") where "outcome" <> 'ok'`,
    },
    // Retention prunes across tenants by age.
    { name: 'provisioning_log_at_idx', properties: ['at'] },
  ],
});
