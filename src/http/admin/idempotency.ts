import { createHash } from 'node:crypto';
import { z } from 'zod';
import { claimIdempotencyKey, completeIdempotencyKey, IDEMPOTENCY_KEY_TTL_HOURS, releaseIdempotencyKey } from '../../store/idempotency.ts';
import type { Orm } from '../../store/orm.ts';
import { RequestError } from '../errors.ts';
import { canonical } from './canonical-json.ts';
import type { RouteSpec } from './route.ts';

/**
 * `Idempotency-Key` on a POST route (Stripe's API; IETF draft "The Idempotency-Key HTTP Header
 * Field"): a client that retries a request with the same key gets the first answer again instead
 * of a second effect. The rules:
 *
 * - The key is opaque, 1 to 255 printable ASCII characters (the draft's quoted sf-string form is
 *   such a value too); anything else is 400 `invalid_idempotency_key`. Without the header the route
 *   runs as always.
 * - A key belongs to one tenant, one operator (the token, or the console user) and one route: the
 *   same key elsewhere is another key.
 * - The same key with the same body (compared as canonical JSON: key order does not matter)
 *   within 24 hours answers the first answer again: its status, body and Location, with
 *   `Idempotent-Replayed: true`. With another body it is 422 `idempotency_key_reused`; while the
 *   first request still runs, 409 `idempotency_key_in_use`.
 * - Only a success (2xx) is kept. A 4xx or 5xx changed nothing (each such route writes in one
 *   transaction), so the key is let go and a retry runs the request afresh: it may succeed now
 *   (after a 503, or once a refused precondition holds). Invalid bodies (422 validation_failed)
 *   are refused before the key is looked at.
 * - Only hashes of the key and of the body are stored; the answer is stored as sent, so a route
 *   whose answer carries a secret (a set-password link, a generated password) must not be wrapped.
 *   Neither route that is (creating a user, running an operation) answers with one: the welcome
 *   link goes by e-mail, and a confirm token is no secret (its key is derived from the tenant row).
 */
export const IDEMPOTENCY_KEY_HEADER = 'Idempotency-Key';
const KEY = /^[\x20-\x7e]{1,255}$/;

const requestHeaders = z.object({
  [IDEMPOTENCY_KEY_HEADER]: z
    .string()
    .regex(KEY)
    .optional()
    .openapi({
      description: `Makes a retry safe: the same key and body within ${IDEMPOTENCY_KEY_TTL_HOURS} hours answer the first success again (with Idempotent-Replayed: true) instead of acting twice. 1 to 255 printable ASCII characters, e.g. a UUID; scoped to the tenant, the operator and this route.`,
      example: '5f7c1a2e-8d3b-4c59-9a1e-2b6f0d4c7e81',
    }),
});
const replayedHeader = z.object({
  'Idempotent-Replayed': z.literal('true').optional().openapi({ description: 'Present on an answer replayed for a repeated Idempotency-Key.' }),
});

/** The route with the Idempotency-Key rules above, and their documentation. */
export function idempotent<P extends z.ZodType, Q extends z.ZodType, B extends z.ZodType>(orm: Orm, spec: RouteSpec<P, Q, B>): RouteSpec<P, Q, B> {
  const route = `${spec.method.toUpperCase()} ${spec.path}`;
  const responses: RouteSpec<P, Q, B>['responses'] = {};
  for (const [status, response] of Object.entries(spec.responses)) {
    responses[Number(status)] = Number(status) < 300 ? { ...response, headers: replayedHeader } : response;
  }
  const also = (status: number, description: string) => {
    const given = responses[status]?.description;
    responses[status] = { ...responses[status], description: given ? `${given} ${description}` : description };
  };
  also(400, 'invalid_idempotency_key: the Idempotency-Key header is not 1 to 255 printable ASCII characters.');
  also(409, 'idempotency_key_in_use: the first request with this Idempotency-Key is still running; retry shortly.');
  also(422, 'idempotency_key_reused: this Idempotency-Key came with another request body.');

  return {
    ...spec,
    headers: requestHeaders,
    responses,
    handler: async (input) => {
      const key = input.req.get(IDEMPOTENCY_KEY_HEADER);
      if (key === undefined) return spec.handler(input);
      if (!KEY.test(key)) {
        throw new RequestError('invalid_idempotency_key', 400, `${IDEMPOTENCY_KEY_HEADER} must be 1 to 255 printable ASCII characters`);
      }
      const scope = { tenantId: input.operator.tenantId, actor: input.operator.actor, route, keyHash: sha256(key) };
      const claim = await claimIdempotencyKey(orm.em.fork(), scope, sha256(canonical(input.req.body ?? {})));
      switch (claim.kind) {
        case 'replay':
          input.res.set('Idempotent-Replayed', 'true');
          if (claim.location) input.res.location(claim.location);
          input.res.status(claim.status).type('application/json').send(claim.body);
          return;
        case 'reused':
          throw new RequestError('idempotency_key_reused', 422, `This ${IDEMPOTENCY_KEY_HEADER} was sent with another request body; use a new key for a new request.`);
        case 'in_use':
          input.res.set('Retry-After', '1');
          throw new RequestError('idempotency_key_in_use', 409, `A request with this ${IDEMPOTENCY_KEY_HEADER} is still being processed; retry it shortly.`);
      }

      let result;
      try {
        result = await spec.handler(input);
      } catch (error) {
        await releaseIdempotencyKey(orm.em.fork(), claim.id).catch((releaseError: unknown) =>
          input.req.log?.warn({ err: releaseError }, 'could not release an idempotency key; it is free again once its claim expires'),
        );
        throw error;
      }
      if (!result || result.status < 200 || result.status >= 300) {
        await releaseIdempotencyKey(orm.em.fork(), claim.id);
        return result;
      }
      try {
        const location = input.res.get('location');
        await completeIdempotencyKey(orm.em.fork(), claim.id, { status: result.status, body: JSON.stringify(result.body), location: location ?? null });
      } catch (error) {
        // The request did act: answer it. Until the claim expires a retry is told to wait.
        input.req.log?.error({ err: error }, 'could not store an idempotent answer');
      }
      return result;
    },
  };
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('base64url');
}
