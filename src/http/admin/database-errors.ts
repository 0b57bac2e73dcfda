import { RequestError, toRequestError } from '../errors.ts';

/**
 * A database error as the caller should see it (see toRequestError: a known unique constraint is
 * a 409 naming what exists already, a check constraint a 422, an unavailable database a 503);
 * anything else is passed through unchanged (a 500 from the problem handler).
 */
export function conflictFromDatabase(error: unknown): unknown {
  if (error instanceof RequestError) return error;
  const known = toRequestError(error);
  return known.status < 500 || known.status === 503 ? known : error;
}
