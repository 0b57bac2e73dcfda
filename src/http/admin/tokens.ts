import { z } from 'zod';
import { OPERATOR_ROLES } from '../../lifecycle/statuses.ts';
import { ApiTokenSchema, TOKEN_KINDS, type ApiToken } from '../../store/entities/index.ts';
import type { Orm } from '../../store/orm.ts';
import { insertApiToken, revokeApiTokens } from '../../store/tokens.ts';
import { RequestError } from '../errors.ts';
import { idParams, type DefineRoute } from './route.ts';

/**
 * API tokens of the tenant (admin role): create a SCIM or admin token (the plain value is shown
 * once; only its SHA-256 is stored), list them, revoke one (it fails at once: every request looks
 * the token up, nothing caches it). Device tokens come from client sign-in, not from here.
 */
const tokenSchema = z
  .object({
    id: z.uuid(),
    kind: z.enum(TOKEN_KINDS),
    role: z.enum(OPERATOR_ROLES).nullable(),
    label: z.string().nullable(),
    prefix: z.string(),
    userId: z.uuid().nullable(),
    deviceId: z.uuid().nullable(),
    createdAt: z.iso.datetime(),
    lastUsedAt: z.iso.datetime().nullable(),
    revokedAt: z.iso.datetime().nullable(),
    expiresAt: z.iso.datetime().nullable(),
  })
  .openapi('ApiToken');

const createBody = z
  .object({
    kind: z.enum(['scim', 'admin']),
    /** Admin tokens only: what the token may do. */
    role: z.enum(OPERATOR_ROLES).optional(),
    label: z.string().trim().max(200).optional(),
    expiresInDays: z.number().int().min(1).max(3650).optional(),
  })
  .strict()
  .superRefine((b, ctx) => {
    if (b.kind === 'admin' && !b.role) ctx.addIssue({ code: 'custom', path: ['role'], message: 'an admin token needs a role' });
    if (b.kind !== 'admin' && b.role) ctx.addIssue({ code: 'custom', path: ['role'], message: 'only admin tokens carry a role' });
  })
  .openapi('NewApiToken');

const iso = (d: Date | null) => (d ? new Date(d).toISOString() : null);
const tokenJson = (t: ApiToken) => ({
  id: t.id,
  kind: t.kind,
  role: t.role,
  label: t.label,
  prefix: t.prefix,
  userId: t.userId,
  deviceId: t.deviceId,
  createdAt: iso(t.createdAt)!,
  lastUsedAt: iso(t.lastUsedAt),
  revokedAt: iso(t.revokedAt),
  expiresAt: iso(t.expiresAt),
});

export function tokenRoutes(define: DefineRoute, { orm }: { orm: Orm }): void {
  define({
    method: 'get',
    path: '/tokens',
    tag: 'Tokens',
    role: 'admin',
    summary: "The tenant's SCIM and admin tokens (never their values)",
    query: z.object({ includeRevoked: z.enum(['true', 'false']).optional() }),
    responses: { 200: { description: 'The tokens, newest first.', schema: z.object({ tokens: z.array(tokenSchema) }) } },
    handler: async ({ query, operator }) => {
      const tokens = await orm.em.fork().find(
        ApiTokenSchema,
        { tenantId: operator.tenantId, kind: { $in: ['scim', 'admin'] }, ...(query.includeRevoked === 'true' ? {} : { revokedAt: null }) },
        { orderBy: { createdAt: 'desc' } },
      );
      return { status: 200, body: { tokens: tokens.map(tokenJson) } };
    },
  });

  define({
    method: 'post',
    path: '/tokens',
    tag: 'Tokens',
    role: 'admin',
    summary: 'Create a SCIM or admin token; the value is shown once',
    body: createBody,
    responses: { 201: { description: 'The token, with its value (Cache-Control: no-store).', schema: tokenSchema.extend({ token: z.string() }).openapi('CreatedApiToken') } },
    handler: async ({ body, operator, res }) => {
      const em = orm.em.fork();
      const { token, record } = insertApiToken(em, {
        tenantId: operator.tenantId,
        kind: body.kind,
        role: body.role ?? null,
        label: body.label ?? null,
        expiresAt: body.expiresInDays ? new Date(Date.now() + body.expiresInDays * 86_400_000) : null,
        actor: operator.actor,
      });
      await em.flush();
      res.set('Cache-Control', 'no-store');
      return { status: 201, body: { ...tokenJson(record), token } };
    },
  });

  define({
    method: 'delete',
    path: '/tokens/:id',
    tag: 'Tokens',
    role: 'admin',
    summary: 'Revoke a token (it stops working at once)',
    params: idParams,
    responses: { 200: { description: 'Revoked.', schema: tokenSchema }, 404: { description: 'No live token with this id in this tenant.' } },
    handler: async ({ params, operator }) => {
      const em = orm.em.fork();
      const [revoked] = await revokeApiTokens(em, { tenantId: operator.tenantId, idOrPrefixOrToken: params.id, actor: operator.actor });
      if (!revoked) throw new RequestError('token_not_found', 404, 'No live token with this id.');
      await em.flush();
      return { status: 200, body: tokenJson(revoked) };
    },
  });
}
