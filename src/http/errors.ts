import type { ErrorRequestHandler, RequestHandler } from 'express';
import type { Logger } from '../log.ts';
import { classifyDatabaseError, RETRY_AFTER_SECONDS } from '../store/errors.ts';
import { classifyInputError } from '../input-guard.ts';

/**
 * The one error type for requests: a stable machine `code`, an HTTP `status`, and whether the
 * message may be shown to the caller. One handler turns it into problem+json (RFC 9457); the SCIM
 * router turns it into SCIM errors instead.
 */
export class RequestError extends Error {
  override name = 'RequestError';
  constructor(
    readonly code: string,
    readonly status: number,
    message: string,
    readonly details: Record<string, unknown> = {},
    readonly expose = status < 500,
  ) {
    super(message);
  }
}

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  409: 'Conflict',
  410: 'Gone',
  412: 'Precondition Failed',
  413: 'Payload Too Large',
  414: 'URI Too Long',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Content',
  423: 'Locked',
  429: 'Too Many Requests',
  431: 'Request Header Fields Too Large',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

export function problemBody(status: number, code: string, detail: string, extra: Record<string, unknown> = {}) {
  return { type: `urn:turnover:problem:${code}`, title: TITLES[status] ?? 'Error', status, code, detail, ...extra };
}

/** 404 for any route nobody claimed. */
export const notFound: RequestHandler = (req, _res, next) => {
  next(new RequestError('not_found', 404, `no route for ${req.method} ${req.path}`));
};

export function problemHandler(logger: Logger): ErrorRequestHandler {
  return (error, req, res, _next) => {
    const known = toRequestError(error);
    // A value the database refused is the caller's 400, and a check the API should have made first: logged.
    const refusedByDatabase = !(error instanceof RequestError) && classifyDatabaseError(error)?.kind === 'invalid_value';
    if (known.status >= 500 || refusedByDatabase) logger.error({ err: error, method: req.method, path: req.path }, 'request failed');
    if (res.headersSent) return;
    if (known.status === 503) res.set('Retry-After', String(RETRY_AFTER_SECONDS));
    res
      .status(known.status)
      .type('application/problem+json')
      .json(problemBody(known.status, known.code, known.expose ? known.message : 'something went wrong on our side', known.expose ? known.details : {}));
  };
}

/**
 * Anything thrown while serving a request, as the caller should see it: ours, a refused input
 * (body parsers, the input guard), a database refusal (unavailable: 503; a known uniqueness: 409;
 * a value the database cannot hold: 400), else a 500 whose message is not shown.
 */
export function toRequestError(error: unknown): RequestError {
  if (error instanceof RequestError) return error;
  const input = classifyInputError(error);
  if (input) {
    const issues = input.where ? { issues: [{ path: input.where, message: input.detail, code: 'nul_character' }] } : {};
    return new RequestError(input.code, input.status, input.detail, issues);
  }
  const refusal = classifyDatabaseError(error);
  if (refusal?.kind === 'unavailable') return new RequestError('unavailable', 503, 'the database is unavailable; try again shortly');
  if (refusal?.kind === 'unique') return new RequestError('already_exists', 409, refusal.message, { constraint: refusal.constraint });
  if (refusal?.kind === 'check') return new RequestError('validation_failed', 422, `the value breaks the rule ${refusal.constraint}`, { constraint: refusal.constraint });
  if (refusal?.kind === 'invalid_value') return new RequestError('invalid_value', 400, 'a value is too long, out of range or not valid for its field');
  const e = error as { status?: number; statusCode?: number; message?: string };
  const status = e?.status ?? e?.statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) return new RequestError('bad_request', status, e.message ?? 'bad request');
  return new RequestError('internal', 500, 'internal error', {}, false);
}
