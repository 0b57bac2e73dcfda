import type { Response } from 'express';
import SCIMMY from 'scimmy';
import { classifyInputError } from '../input-guard.ts';
import { classifyDatabaseError, RETRY_AFTER_SECONDS } from '../store/errors.ts';
import { UnsupportedFilter, UnsupportedSort } from '../store/scim-filter.ts';
import { noteScimFailure } from './provisioning-log.ts';

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
  // A filter that parsed but that the store cannot translate (an unknown attribute, say).
  if (error instanceof UnsupportedFilter) return { status: 400, scimType: 'invalidFilter', detail: error.message, internal: false };
  // A sortBy the store cannot sort on: RFC 7644 §3.12 invalidValue (a value not compatible with
  // the operation); invalidFilter and invalidPath name filter and PATCH path expressions.
  if (error instanceof UnsupportedSort) return { status: 400, scimType: 'invalidValue', detail: error.message, internal: false };
  // Refused while reading the request: body parsers, the input guard (NUL, depth, URL length).
  const input = classifyInputError(error);
  if (input) return { status: input.status, ...(input.scimType ? { scimType: input.scimType } : {}), detail: input.detail, internal: false };
  const refusal = classifyDatabaseError(error);
  if (refusal?.kind === 'unique') return { status: 409, scimType: 'uniqueness', detail: `${refusal.message}.`, internal: false };
  if (refusal?.kind === 'invalid_value' || refusal?.kind === 'check') {
    // The caller's value, but a check SCIM should have made before the database: logged as ours.
    return { status: 400, scimType: 'invalidValue', detail: 'A value is too long, out of range or not valid for its attribute.', internal: true };
  }
  // The IdP retries a 503 later (Retry-After); nothing was committed.
  if (refusal?.kind === 'unavailable') return { status: 503, detail: 'The service is temporarily unavailable; retry later.', internal: true };
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
  if (failure.status === 503) res.set('Retry-After', String(RETRY_AFTER_SECONDS));
  // end, not send: send would add an ETag of the error body, which a client could take for the
  // resource's version (a 412's, say).
  noteScimFailure(res, failure);
  res.status(failure.status).type(SCIM_CONTENT_TYPE).end(JSON.stringify(scimErrorBody(failure)));
}
