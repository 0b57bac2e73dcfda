import { OpenAPIRegistry, extendZodWithOpenApi, type ResponseConfig } from '@asteasolutions/zod-to-openapi';
import type { Request, RequestHandler, Response, Router } from 'express';
import { z } from 'zod';
import type { OperatorRole } from '../../lifecycle/statuses.ts';
import { RequestError } from '../errors.ts';
import { requireRole, type Operator } from './auth.ts';

// `.openapi()` on zod schemas, used by each resource file to name its schemas in the document.
extendZodWithOpenApi(z);

/**
 * Declares an admin route once: the zod schemas that validate its params, query and body are the
 * ones registered in the OpenAPI document (/admin/openapi.json), so the document cannot drift from
 * what the server accepts. Invalid input answers 422 `validation_failed` with the zod issues.
 */
export interface RouteSpec<P extends z.ZodType, Q extends z.ZodType, B extends z.ZodType> {
  method: 'get' | 'post' | 'put' | 'patch' | 'delete';
  /** Express syntax (`/users/:id`); converted to `{id}` for the document. */
  path: string;
  summary: string;
  description?: string;
  tag: string;
  /** Least role allowed; default office_manager (every operator). */
  role?: OperatorRole;
  params?: P;
  query?: Q;
  body?: B;
  /** Request headers the route reads, for the document only (the handler, or its wrapper, checks them). */
  headers?: z.ZodObject;
  /** Documented request body for non-JSON routes (the CSV import). */
  rawBody?: { contentType: string; description: string };
  responses: Record<number, { description: string; schema?: z.ZodType; contentType?: string; headers?: z.ZodObject }>;
  handler: (input: RouteInput<z.output<P>, z.output<Q>, z.output<B>>) => Promise<RouteResult | void>;
}

export interface RouteInput<P, Q, B> {
  params: P;
  query: Q;
  body: B;
  operator: Operator;
  req: Request;
  res: Response;
}

/** What a handler answers: a status and a JSON body. Handlers that write `res` themselves return nothing. */
export interface RouteResult {
  status: number;
  body: unknown;
}

export type DefineRoute = <P extends z.ZodType = z.ZodObject, Q extends z.ZodType = z.ZodObject, B extends z.ZodType = z.ZodUnknown>(
  spec: RouteSpec<P, Q, B>,
) => void;

export const PROBLEM_RESPONSES: Record<number, string> = {
  401: 'No, unknown, expired or revoked bearer token.',
  403: 'The token is not allowed to do this (role).',
  422: 'The request does not match the schema (validation_failed, with the issues).',
};

export const problemSchema = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    code: z.string(),
    detail: z.string(),
  })
  .catchall(z.unknown())
  .openapi('Problem', { description: 'RFC 9457 problem details (application/problem+json).' });

export function createRouteDefiner(router: Router, registry: OpenAPIRegistry): DefineRoute {
  return (spec) => {
    registry.registerPath({
      method: spec.method,
      path: spec.path.replace(/:([A-Za-z]+)/g, '{$1}'),
      summary: spec.summary,
      ...(spec.description ? { description: spec.description } : {}),
      tags: [spec.tag],
      security: [{ bearer: [] }],
      request: {
        ...(spec.params ? { params: spec.params as never } : {}),
        ...(spec.query ? { query: spec.query as never } : {}),
        ...(spec.headers ? { headers: spec.headers } : {}),
        ...(spec.body ? { body: { required: true, content: { 'application/json': { schema: spec.body } } } } : {}),
        ...(spec.rawBody
          ? { body: { required: true, description: spec.rawBody.description, content: { [spec.rawBody.contentType]: { schema: { type: 'string' } } } } }
          : {}),
      },
      responses: documentResponses(spec),
    });

    const handler: RequestHandler = async (req, res) => {
      const params = parseInput(spec.params, req.params, 'params');
      const query = parseInput(spec.query, req.query, 'query');
      const body = parseInput(spec.body, req.body ?? {}, 'body');
      const result = await spec.handler({ params, query, body, operator: req.operator!, req, res } as never);
      if (result && !res.headersSent) res.status(result.status).json(result.body);
    };
    router[spec.method](spec.path, requireRole(spec.role ?? 'office_manager'), handler);
  };
}

function documentResponses(spec: RouteSpec<z.ZodType, z.ZodType, z.ZodType>): Record<string, ResponseConfig> {
  const out: Record<string, ResponseConfig> = {};
  for (const [status, response] of Object.entries(spec.responses)) {
    out[status] = {
      description: response.description,
      ...(response.headers ? { headers: response.headers } : {}),
      ...(response.schema ? { content: { [response.contentType ?? 'application/json']: { schema: response.schema } } } : {}),
    };
  }
  const problems = { ...PROBLEM_RESPONSES, ...(spec.role === 'admin' ? { 403: 'Only the admin role may do this.' } : {}) };
  for (const [status, description] of Object.entries(problems)) {
    if (status === '422' && !spec.body && !spec.query) continue;
    out[status] ??= { description, content: { 'application/problem+json': { schema: problemSchema } } };
  }
  return out;
}

/** Validates one part of a request; 422 with zod's issues (path, message) when it does not fit. */
export function parseInput<S extends z.ZodType | undefined>(
  schema: S,
  value: unknown,
  where: 'params' | 'query' | 'body',
): S extends z.ZodType ? z.output<S> : undefined {
  if (!schema) return undefined as never;
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data as never;
  // A malformed id in the path names no resource: 404, as an unknown id would.
  if (where === 'params') throw new RequestError('not_found', 404, 'no such resource');
  throw new RequestError('validation_failed', 422, `the request ${where} is not valid`, {
    issues: parsed.error.issues.map((issue) => ({ path: [where, ...issue.path.map(String)].join('.'), message: issue.message, code: issue.code })),
  });
}

/** Path parameter `:id` as a UUID (anything else is a 404). */
export const idParams = z.object({ id: z.uuid() });

/** Opaque keyset cursors: base64url JSON, so the client never builds one by hand. */
export function encodeCursor(value: unknown): string {
  return Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');
}

export function decodeCursor<T>(cursor: string | undefined, schema: z.ZodType<T>): T | undefined {
  if (!cursor) return undefined;
  try {
    const parsed = schema.safeParse(JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')));
    if (parsed.success) return parsed.data;
  } catch {
    // fall through: same answer as a well-formed but wrong cursor
  }
  throw new RequestError('invalid_cursor', 422, 'the cursor is not one this API gave out');
}

/** Page size: `limit` query parameter, 1..200, default 50. */
export const limitQuery = z.coerce.number().int().min(1).max(200).default(50);
