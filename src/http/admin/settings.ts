import { z } from 'zod';
import { DEFAULT_POLICY, policySchema, type Policy } from '../../lifecycle/policy.ts';
import { insertAuditEntry } from '../../store/audit.ts';
import type { Orm } from '../../store/orm.ts';
import { findTenantSettings, updateTenantPolicy } from '../../store/tenant-settings.ts';
import { RequestError } from '../errors.ts';
import type { DefineRoute } from './route.ts';

/**
 * The tenant's lifecycle policy (DESIGN.md §2): everyone may read it, only admins change it.
 * PUT takes the fields to change (nested objects merge field by field), validates the result
 * as a whole against the same schema every reader uses, and stores the fields as given so a later
 * default change still reaches the fields nobody set.
 */
// Declared in src/lifecycle (before the OpenAPI extension loads), so it appears inline, unnamed.
const policyDocument = policySchema;
const settingsResponse = z.object({ policy: policyDocument, defaults: policyDocument }).openapi('Settings');

export function settingsRoutes(define: DefineRoute, { orm }: { orm: Orm }): void {
  define({
    method: 'get',
    path: '/settings',
    tag: 'Settings',
    summary: "The tenant's policy (with today's defaults for what was never set)",
    responses: { 200: { description: 'The policy in effect and the defaults.', schema: settingsResponse } },
    handler: async ({ operator }) => {
      const settings = await findTenantSettings(orm.em.fork(), operator.tenantId);
      return { status: 200, body: { policy: settings!.policy, defaults: DEFAULT_POLICY } };
    },
  });

  define({
    method: 'put',
    path: '/settings',
    tag: 'Settings',
    role: 'admin',
    summary: "Change the tenant's policy",
    description: 'Fields given replace the stored ones (nested objects merge by field); the whole result is validated. Audited with the old and new values.',
    body: policySchema.partial().openapi('PolicyChange'),
    responses: { 200: { description: 'The policy now in effect.', schema: settingsResponse } },
    handler: async ({ req, operator }) => {
      // The validated body has defaults filled in; merge only what the request actually named.
      const given = req.body as Record<string, unknown>;
      const policy = await orm.em.fork().transactional(async (em) => {
        const current = await findTenantSettings(em, operator.tenantId, { lock: true });
        const merged = mergeFields(current!.stored as Record<string, unknown>, given);
        const checked = policySchema.safeParse(merged);
        if (!checked.success) {
          throw new RequestError('validation_failed', 422, 'the resulting policy is not valid', {
            issues: checked.error.issues.map((i) => ({ path: ['body', ...i.path.map(String)].join('.'), message: i.message, code: i.code })),
          });
        }
        const changed = Object.keys(given).filter((k) => JSON.stringify(current!.policy[k as keyof Policy]) !== JSON.stringify(checked.data[k as keyof Policy]));
        await updateTenantPolicy(em, operator.tenantId, merged as Partial<Policy>);
        insertAuditEntry(em, {
          tenantId: operator.tenantId,
          actor: operator.actor,
          action: 'settings.updated',
          details: {
            changed,
            from: Object.fromEntries(changed.map((k) => [k, current!.policy[k as keyof Policy]])),
            to: Object.fromEntries(changed.map((k) => [k, checked.data[k as keyof Policy]])),
          },
        });
        await em.flush();
        return checked.data;
      });
      return { status: 200, body: { policy, defaults: DEFAULT_POLICY } };
    },
  });
}

function mergeFields(stored: Record<string, unknown>, given: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...stored };
  for (const [key, value] of Object.entries(given)) {
    const before = out[key];
    const bothObjects = value && typeof value === 'object' && !Array.isArray(value) && before && typeof before === 'object';
    out[key] = bothObjects ? { ...(before as object), ...(value as object) } : value;
  }
  return out;
}
