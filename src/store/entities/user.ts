import { EntitySchema, type OptionalProps } from '@mikro-orm/core';
import {
  DISABLED_BY,
  STORED_USER_STATUSES,
  USER_ROLES,
  type DisabledBy,
  type StoredUserStatus,
  type UserRole,
} from '../../lifecycle/statuses.ts';
import { createdAtColumn, updatedAtColumn, uuidPrimaryKey } from './columns.ts';

/** A SCIM multi-valued attribute entry (emails, phoneNumbers, ...). */
export interface MultiValue {
  value: string;
  type?: string;
  primary?: boolean;
  display?: string;
}

/**
 * A person's account. Columns hold what turnover filters, sorts or acts on; the rest of a SCIM
 * resource (addresses, locale, ...) is kept verbatim in `scimExtra` so a GET returns what the IdP
 * sent.
 */
export interface User {
  [OptionalProps]?:
    | 'id' | 'externalId' | 'firstName' | 'lastName' | 'displayName' | 'email' | 'emails' | 'phone'
    | 'phoneNumbers' | 'extension' | 'department' | 'role' | 'status' | 'disabledBy' | 'idpActive'
    | 'title' | 'employeeNumber' | 'costCenter' | 'organization' | 'division' | 'managerId'
    | 'terminationDate' | 'scimExtra' | 'passwordHash' | 'pinHash' | 'failedLoginCount'
    | 'lastCheckinAt' | 'lastSigninAt' | 'statusChangedAt' | 'version' | 'createdAt' | 'updatedAt'
    | 'idpDeletedAt' | 'derivedUserName';
  id: string;
  tenantId: string;
  /** Null only once purged. Unique per tenant, case-insensitively. */
  userName: string | null;
  /**
   * The login turnover derived for this user (src/lifecycle/login.ts), or null. The login counts
   * as derived while `userName` still equals it and no IdP has linked the user (externalId): a
   * userName an operator or an IdP writes is theirs without them having to say so.
   */
  derivedUserName: string | null;
  externalId: string | null;
  firstName: string | null;
  lastName: string | null;
  displayName: string | null;
  /** The primary (or first work) email, denormalised from `emails` for lookup and mail. */
  email: string | null;
  emails: MultiValue[];
  phone: string | null;
  phoneNumbers: MultiValue[];
  /** The seat: survives a reset so it can be recycled. */
  extension: string | null;
  department: string | null;
  role: UserRole;
  status: StoredUserStatus;
  /** Set while `disabled`: an IdP re-activation may only undo the IdP's own deactivation. */
  disabledBy: DisabledBy | null;
  /** The IdP's latest requested `active`; differs from the status when an admin rejects held work. */
  idpActive: boolean;
  title: string | null;
  employeeNumber: string | null;
  costCenter: string | null;
  organization: string | null;
  division: string | null;
  managerId: string | null;
  /** Set by a SCIM DELETE: the IdP sees 404 from then on, whatever status the policy left. */
  idpDeletedAt: Date | null;
  /** HR-pushed termination; a deprovision task is scheduled for it. */
  terminationDate: Date | null;
  scimExtra: Record<string, unknown>;
  passwordHash: string | null;
  pinHash: string | null;
  failedLoginCount: number;
  lastCheckinAt: Date | null;
  lastSigninAt: Date | null;
  statusChangedAt: Date;
  /** Optimistic lock: every guarded write checks and bumps it. */
  version: number;
  createdAt: Date;
  updatedAt: Date;
}

export const UserSchema = new EntitySchema<User>({
  name: 'User',
  tableName: 'users',
  properties: {
    id: uuidPrimaryKey,
    tenantId: { kind: 'm:1', entity: 'Tenant', mapToPk: true, deleteRule: 'cascade', fieldName: 'tenant_id' },
    userName: { type: 'text', nullable: true },
    derivedUserName: { type: 'text', nullable: true },
    externalId: { type: 'text', nullable: true },
    firstName: { type: 'text', nullable: true },
    lastName: { type: 'text', nullable: true },
    displayName: { type: 'text', nullable: true },
    email: { type: 'text', nullable: true },
    emails: { type: 'json', defaultRaw: "'[]'" },
    phone: { type: 'text', nullable: true },
    phoneNumbers: { type: 'json', defaultRaw: "'[]'" },
    extension: { type: 'text', nullable: true },
    department: { type: 'text', nullable: true },
    role: { enum: true, items: () => USER_ROLES, default: 'basic_user' },
    status: { enum: true, items: () => STORED_USER_STATUSES, default: 'password_required' },
    disabledBy: { enum: true, items: () => DISABLED_BY, nullable: true },
    idpActive: { type: 'boolean', default: true },
    title: { type: 'text', nullable: true },
    employeeNumber: { type: 'text', nullable: true },
    costCenter: { type: 'text', nullable: true },
    organization: { type: 'text', nullable: true },
    division: { type: 'text', nullable: true },
    managerId: { type: 'uuid', nullable: true },
    terminationDate: { type: 'Date', columnType: 'timestamptz', nullable: true },
    idpDeletedAt: { type: 'Date', columnType: 'timestamptz', nullable: true },
    scimExtra: { type: 'json', defaultRaw: "'{}'" },
    passwordHash: { type: 'text', nullable: true, hidden: true, lazy: true },
    pinHash: { type: 'text', nullable: true, hidden: true, lazy: true },
    failedLoginCount: { type: 'integer', default: 0 },
    lastCheckinAt: { type: 'Date', columnType: 'timestamptz', nullable: true },
    lastSigninAt: { type: 'Date', columnType: 'timestamptz', nullable: true },
    statusChangedAt: { type: 'Date', columnType: 'timestamptz', onCreate: () => new Date() },
    version: { type: 'integer', version: true },
    createdAt: createdAtColumn,
    updatedAt: updatedAtColumn,
  },
  indexes: [
    // SCIM lookups (userName eq is Okta's first request for every user; see bench/scim.ts).
    { name: 'users_tenant_username_key', expression: 'create unique index "users_tenant_username_key" on "users" ("tenant_id", lower("user_name"))' },
    { name: 'users_tenant_external_id_idx', properties: ['tenantId', 'externalId'] },
    // A SCIM list walk: the next page is a range scan after the last id (src/scim/paging.ts).
    {
      name: 'users_tenant_scim_visible_id_idx',
      expression: `create index "users_tenant_scim_visible_id_idx" on "users" ("tenant_id", "id") where "status" not in ('deleted', 'purged') and "idp_deleted_at" is null`,
    },
    { name: 'users_tenant_email_idx', expression: 'create index "users_tenant_email_idx" on "users" ("tenant_id", lower("email"))' },
    { name: 'users_tenant_status_idx', properties: ['tenantId', 'status'] },
    { name: 'users_tenant_updated_at_idx', properties: ['tenantId', 'updatedAt', 'id'] },
    { name: 'users_tenant_extension_idx', properties: ['tenantId', 'extension'] },
    // The admin user list pages in creation order (keyset on created_at, id).
    { name: 'users_tenant_created_at_idx', properties: ['tenantId', 'createdAt', 'id'] },
    // The admin search: one trigram index over every searched column (src/store/users.ts USER_SEARCH_TEXT).
    {
      name: 'users_search_trgm_idx',
      expression: `create index "users_search_trgm_idx" on "users" using gin ((coalesce(first_name, '') || ' ' || coalesce(last_name, '') || ' ' || coalesce(display_name, '') || ' ' || coalesce(user_name, '') || ' ' || coalesce(email, '') || ' ' || coalesce(extension, '')) gin_trgm_ops)`,
    },
  ],
  checks: [
    { name: 'users_failed_login_count_check', expression: 'failed_login_count >= 0' },
  ],
});
