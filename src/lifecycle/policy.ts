import { z } from 'zod';

/** Per-tenant lifecycle policy (DESIGN.md §2). Validated on read and on every change. */
export const RECONNECTION_MODES = ['leave_deleted', 'set_active', 'set_disabled'] as const;
export const SCIM_DEACTIVATE_ACTIONS = ['disable', 'ban', 'deprovision'] as const;
export const SCIM_DELETE_ACTIONS = ['delete', 'deprovision', 'permanent_delete'] as const;

/** Optional items a reset may clear; the always-cleared ones are not options. */
export const RESET_OPTION_KEYS = [
  'voicemailMessages',
  'voicemailGreetings',
  'answeringRules',
  'customContacts',
  'unassignPhoneNumber',
  'removeDeviceLines',
] as const;
export type ResetOptionKey = (typeof RESET_OPTION_KEYS)[number];

export const resetOptionsSchema = z
  .object(Object.fromEntries(RESET_OPTION_KEYS.map((k) => [k, z.boolean().default(false)])) as {
    [K in ResetOptionKey]: z.ZodDefault<z.ZodBoolean>;
  })
  .strict();
export type ResetOptions = z.infer<typeof resetOptionsSchema>;

/** Reset options as asked for (an operation, a task): each one left out takes the tenant's default. */
export const requestedResetOptionsSchema = z.object(
  Object.fromEntries(RESET_OPTION_KEYS.map((k) => [k, z.boolean().optional()])) as { [K in ResetOptionKey]: z.ZodOptional<z.ZodBoolean> },
);

export const policySchema = z
  .object({
    inactivityDays: z.number().int().min(1).max(3650).default(30),
    lockoutThreshold: z.number().int().min(1).max(1000).default(10),
    welcomeLinkTtlHours: z.number().int().min(1).max(24 * 90).default(168),
    reconnectionMode: z.enum(RECONNECTION_MODES).default('leave_deleted'),
    onScimDeactivate: z.enum(SCIM_DEACTIVATE_ACTIONS).default('disable'),
    onScimDelete: z.enum(SCIM_DELETE_ACTIONS).default('delete'),
    sendWelcomeOnScimCreate: z.boolean().default(true),
    defaultResetOptions: resetOptionsSchema.default(resetOptionsSchema.parse({})),
    deprovisionGuard: z
      .object({
        enabled: z.boolean().default(true),
        maxCount: z.number().int().min(1).default(25),
        maxPercent: z.number().min(0.1).max(100).default(10),
        windowMinutes: z.number().int().min(1).max(7 * 24 * 60).default(60),
      })
      .strict()
      .default({ enabled: true, maxCount: 25, maxPercent: 10, windowMinutes: 60 }),
    sessionIdleMinutes: z.number().int().min(1).max(24 * 60).default(30),
    sessionMaxHours: z.number().int().min(1).max(24 * 30).default(12),
  })
  .strict();
export type Policy = z.infer<typeof policySchema>;

export const DEFAULT_POLICY: Policy = Object.freeze(policySchema.parse({})) as Policy;

/** A stored policy merged over today's defaults, so a new policy field never breaks old rows. */
export function resolvePolicy(stored: unknown): Policy {
  return policySchema.parse({ ...(typeof stored === 'object' && stored ? stored : {}) });
}
