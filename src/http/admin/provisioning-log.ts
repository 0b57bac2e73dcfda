import { z } from 'zod';
import { PROVISIONING_OUTCOMES } from '../../store/entities/index.ts';
import type { Orm } from '../../store/orm.ts';
import { findProvisioningLogEntries } from '../../store/provisioning-log.ts';
import { decodeCursor, encodeCursor, limitQuery, type DefineRoute } from './route.ts';

/**
 * The provisioning log: every SCIM request an identity provider sent (src/scim/provisioning-log.ts),
 * by user, outcome and time range, newest first, keyset-paged.
 */
const entrySchema = z
  .object({
    id: z.string(),
    at: z.iso.datetime().describe('When the request arrived.'),
    tokenId: z.uuid().nullable().describe('The SCIM token the request came with: the identity provider connection.'),
    tokenName: z.string().nullable().describe("The token's label, when it has one."),
    tokenPrefix: z.string().nullable().describe("The token's first characters, to tell unlabelled tokens apart."),
    method: z.string(),
    path: z.string().describe('Below /scim/v2, without the query.'),
    resourceType: z.string().nullable().describe('User, Group, Bulk, or the discovery resource.'),
    operation: z.enum(['create', 'replace', 'patch', 'delete', 'get', 'list']).nullable(),
    resourceId: z.uuid().nullable().describe('The user or group the request touched.'),
    resourceName: z.string().nullable().describe('Its userName or displayName: as the request named it, else as it is now.'),
    status: z.number().int().describe('The HTTP status answered.'),
    outcome: z.enum(PROVISIONING_OUTCOMES),
    scimType: z.string().nullable().describe('The SCIM error type (uniqueness, invalidValue, ...) of a refusal.'),
    detail: z.string().nullable().describe('The SCIM error detail answered.'),
    requestId: z.string().nullable().describe("The client's client-request-id (Entra) or x-request-id header."),
    durationMs: z.number(),
    filter: z.string().nullable().describe("A list request's filter; values of secret-named attributes are redacted."),
    attributes: z.array(z.string()).nullable().describe('The attributes a write set, by name only.'),
  })
  .openapi('ProvisioningLogEntry');

const query = z
  .object({
    userId: z.uuid().optional().describe("A user's SCIM history (with refused creates that named the user's userName)."),
    groupId: z.uuid().optional(),
    outcome: z.enum(PROVISIONING_OUTCOMES).optional(),
    from: z.iso.datetime({ offset: true }).optional().describe('Requests at or after this time.'),
    to: z.iso.datetime({ offset: true }).optional().describe('Requests before this time.'),
    cursor: z.string().max(200).optional(),
    limit: limitQuery,
  })
  .refine((q) => !q.from || !q.to || Date.parse(q.from) < Date.parse(q.to), { path: ['to'], message: '`to` must be after `from`' });

const cursorSchema = z.object({ at: z.iso.datetime(), id: z.string().regex(/^\d{1,19}$/) });

export function provisioningLogRoutes(define: DefineRoute, { orm }: { orm: Orm }): void {
  define({
    method: 'get',
    path: '/provisioning-log',
    tag: 'Provisioning log',
    summary: 'SCIM requests from identity providers, newest first',
    description: `Every SCIM request with its connection, the user or group it touched and how it ended, including refusals (409, 400). Kept for PROVISIONING_LOG_DAYS days (default 30). Rows appear within a second of the request.`,
    query,
    responses: {
      200: {
        description: 'A page of entries.',
        schema: z.object({ entries: z.array(entrySchema), nextCursor: z.string().nullable() }).openapi('ProvisioningLogPage'),
      },
    },
    handler: async ({ query: q, operator }) => {
      const before = decodeCursor(q.cursor, cursorSchema);
      const { entries, hasMore } = await findProvisioningLogEntries(orm.em.fork(), {
        tenantId: operator.tenantId,
        ...(q.userId ? { userId: q.userId } : {}),
        ...(q.groupId ? { groupId: q.groupId } : {}),
        ...(q.outcome ? { outcome: q.outcome } : {}),
        ...(q.from ? { from: q.from } : {}),
        ...(q.to ? { to: q.to } : {}),
        ...(before ? { before } : {}),
        limit: q.limit,
      });
      const last = entries.at(-1);
      return {
        status: 200,
        body: {
          entries: entries.map(({ tokenLabel, ...e }) => ({ ...e, tokenName: tokenLabel, at: e.at.toISOString() })),
          nextCursor: hasMore && last ? encodeCursor({ at: last.at.toISOString(), id: last.id }) : null,
        },
      };
    },
  });
}
