import type { Response } from 'express';
import SCIMMY from 'scimmy';
import { isRetryableDatabaseError, UNIQUE_CONSTRAINTS } from '../store/errors.ts';

/**
 * The one place that turns anything thrown while serving SCIM into an RFC 7644 §3.12 error body:
 * `status` as a string, `scimType` where the RFC names one, `application/scim+json`.
 *
 * SCIMMY turns any exception it does not know from its handlers into 404 "not found", and an IdP
 * that sees 404 re-creates the user. So the handlers record the real failure on the request
 * context (see guard() in context.ts) and it wins here: storage and queue failures are 5xx.
 */
export const ERROR_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:Error';
export const SCIM_CONTENT_TYPE = 'application/scim+json; charset=utf-8';

export interface ScimErrorBody {
  schemas: [typeof ERROR_SCHEMA];
  status: string;
  scimType?: string;
  detail: string;
}

export interface ScimFailure {
  status: number;
  scimType?: string;
  detail: string;
  /** Worth a log line at error level: not the client's fault. */
  internal: boolean;
}

export function scimError(status: number, scimType: string | undefined, detail: string): SCIMMY.Types.SCIMError {
  return new SCIMMY.Types.Error(status, scimType as never, detail);
}

export function toScimFailure(error: unknown): ScimFailure {
  if (error instanceof SCIMMY.Types.Error) {
    const status = Number(error.status) || 500;
    return { status, ...(error.scimType ? { scimType: String(error.scimType) } : {}), detail: error.message, internal: status >= 500 };
  }
  const e = error as { type?: string; code?: string; constraint?: string; status?: number };
  // express.json() errors (body-parser): malformed JSON and oversized bodies.
  if (e?.type === 'entity.parse.failed') return { status: 400, scimType: 'invalidSyntax', detail: 'The request body is not valid JSON.', internal: false };
  if (e?.type === 'entity.too.large') return { status: 413, detail: 'The request body is too large.', internal: false };
  if (e?.type === 'encoding.unsupported' || e?.type === 'charset.unsupported') {
    return { status: 415, detail: 'Unsupported request body encoding.', internal: false };
  }
  if (e?.code === '23505' && e.constraint && e.constraint in UNIQUE_CONSTRAINTS) {
    return { status: 409, scimType: 'uniqueness', detail: `${UNIQUE_CONSTRAINTS[e.constraint]}.`, internal: false };
  }
  // The IdP retries a 503 later; nothing was committed.
  if (isRetryableDatabaseError(error)) return { status: 503, detail: 'The service is busy; retry later.', internal: true };
  return { status: 500, detail: 'Something went wrong on our side; nothing was changed.', internal: true };
}

export function scimErrorBody(failure: Pick<ScimFailure, 'status' | 'scimType' | 'detail'>): ScimErrorBody {
  return {
    schemas: [ERROR_SCHEMA],
    status: String(failure.status),
    ...(failure.scimType ? { scimType: failure.scimType } : {}),
    detail: failure.detail,
  };
}

export function sendScimError(res: Response, failure: Pick<ScimFailure, 'status' | 'scimType' | 'detail'>): void {
  res.status(failure.status).type(SCIM_CONTENT_TYPE).send(JSON.stringify(scimErrorBody(failure)));
}
