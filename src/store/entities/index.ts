import { ApiTokenSchema } from './api-token.ts';
import { AuditEntrySchema } from './audit-entry.ts';
import { DeviceSchema } from './device.ts';
import { GroupMembershipSchema, GroupSchema } from './group.ts';
import { IdempotencyKeySchema } from './idempotency-key.ts';
import { OperationTargetSchema } from './operation-target.ts';
import { OperationSchema } from './operation.ts';
import { OperatorSessionSchema } from './operator-session.ts';
import { PasswordLinkSchema } from './password-link.ts';
import { PhoneNumberSchema } from './phone-number.ts';
import { ProvisioningLogEntrySchema } from './provisioning-log-entry.ts';
import { TaskSchema } from './task.ts';
import { TenantSchema } from './tenant.ts';
import { UserDataSchema } from './user-data.ts';
import { UserSchema } from './user.ts';

export * from './api-token.ts';
export * from './audit-entry.ts';
export * from './device.ts';
export * from './group.ts';
export * from './idempotency-key.ts';
export * from './operation-target.ts';
export * from './operation.ts';
export * from './operator-session.ts';
export * from './password-link.ts';
export * from './phone-number.ts';
export * from './provisioning-log-entry.ts';
export * from './task.ts';
export * from './tenant.ts';
export * from './user-data.ts';
export * from './user.ts';

export const ENTITIES = [
  TenantSchema,
  ApiTokenSchema,
  UserSchema,
  GroupSchema,
  GroupMembershipSchema,
  DeviceSchema,
  UserDataSchema,
  PhoneNumberSchema,
  OperationSchema,
  TaskSchema,
  AuditEntrySchema,
  PasswordLinkSchema,
  OperatorSessionSchema,
  IdempotencyKeySchema,
  ProvisioningLogEntrySchema,
  OperationTargetSchema,
];
