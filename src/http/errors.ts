import type { ErrorRequestHandler, RequestHandler } from 'express';
import type { Logger } from '../log.ts';

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
  413: 'Payload Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Content',
  423: 'Locked',
  429: 'Too Many Requests',
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
    if (known.status >= 500) logger.error({ err: error, method: req.method, path: req.path }, 'request failed');
    if (res.headersSent) return;
    res
      .status(known.status)
      .type('application/problem+json')
      .json(problemBody(known.status, known.code, known.expose ? known.message : 'something went wrong on our side', known.expose ? known.details : {}));
  };
}

/** Errors thrown by express' own parsers carry `status` and `type`; everything else is a 500. */
export function toRequestError(error: unknown): RequestError {
  if (error instanceof RequestError) return error;
  const e = error as { status?: number; statusCode?: number; type?: string; message?: string };
  const status = e?.status ?? e?.statusCode;
  if (e?.type === 'entity.parse.failed') return new RequestError('invalid_json', 400, 'the request body is not valid JSON');
  if (e?.type === 'entity.too.large') return new RequestError('payload_too_large', 413, 'the request body is too large');
  if (e?.type === 'encoding.unsupported' || e?.type === 'charset.unsupported') {
    return new RequestError('unsupported_media_type', 415, e.message ?? 'unsupported encoding');
  }
  if (typeof status === 'number' && status >= 400 && status < 500) {
    return new RequestError('bad_request', status, e.message ?? 'bad request');
  }
  return new RequestError('internal', 500, 'internal error', {}, false);
}
