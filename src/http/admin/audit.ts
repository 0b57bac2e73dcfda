import { z } from 'zod';
import { findAuditEntries } from '../../store/audit-trail.ts';
import type { Orm } from '../../store/orm.ts';
import { namedFields, withNames } from './names.ts';
import { decodeCursor, encodeCursor, limitQuery, type DefineRoute } from './route.ts';

/** The audit trail: by user, actor, action and time range, newest first, paged. */
const entrySchema = z
  .object({
    id: z.string(),
    at: z.iso.datetime(),
    actor: z.string(),
    action: z.string(),
    userId: z.uuid().nullable(),
    taskId: z.uuid().nullable(),
    details: z.record(z.string(), z.unknown()),
    ...namedFields,
  })
  .openapi('AuditEntry');

const auditQuery = z.object({
  userId: z.uuid().optional(),
  /** e.g. `admin:<token id>`, `scim:<token id>`, `user:<user id>`, `device:<device id>`, `system`. */
  actor: z.string().max(200).optional(),
  /** An action (`user.ban`) or a prefix ending in a dot (`user.`). */
  action: z.string().max(100).optional(),
  since: z.iso.datetime({ offset: true }).optional(),
  until: z.iso.datetime({ offset: true }).optional(),
  cursor: z.string().max(200).optional(),
  limit: limitQuery,
});

export function auditRoutes(define: DefineRoute, { orm }: { orm: Orm }): void {
  define({
    method: 'get',
    path: '/audit',
    tag: 'Audit',
    summary: 'Query the audit trail, newest first',
    query: auditQuery,
    responses: {
      200: { description: 'A page of entries.', schema: z.object({ entries: z.array(entrySchema), nextCursor: z.string().nullable() }).openapi('AuditPage') },
    },
    handler: async ({ query, operator }) => {
      const before = decodeCursor(query.cursor, z.object({ id: z.string().regex(/^\d{1,19}$/) }));
      const em = orm.em.fork();
      const { entries, hasMore } = await findAuditEntries(em, {
        tenantId: operator.tenantId,
        ...(query.userId ? { userId: query.userId } : {}),
        ...(query.actor ? { actor: query.actor } : {}),
        ...(query.action ? { action: query.action } : {}),
        ...(query.since ? { since: query.since } : {}),
        ...(query.until ? { until: query.until } : {}),
        ...(before ? { beforeId: before.id } : {}),
        limit: query.limit,
      });
      const last = entries.at(-1);
      return {
        status: 200,
        body: {
          entries: await withNames(em, operator.tenantId, entries.map((e) => ({ ...e, at: new Date(e.at).toISOString() }))),
          nextCursor: hasMore && last ? encodeCursor({ id: last.id }) : null,
        },
      };
    },
  });
}
