import { UNIQUE_CONSTRAINTS, isRetryableDatabaseError } from '../../store/errors.ts';
import { RequestError } from '../errors.ts';

/**
 * A database error as the caller should see it: a known unique constraint is a 409 naming what
 * exists already, a check constraint a 422, a transient failure a 503; anything else is passed
 * through unchanged (a 500 from the problem handler).
 */
export function conflictFromDatabase(error: unknown): unknown {
  if (error instanceof RequestError) return error;
  const e = error as { code?: string; constraint?: string };
  if (e?.code === '23505' && e.constraint && e.constraint in UNIQUE_CONSTRAINTS) {
    return new RequestError('already_exists', 409, UNIQUE_CONSTRAINTS[e.constraint]!, { constraint: e.constraint });
  }
  if (e?.code === '23514' && e.constraint) {
    return new RequestError('validation_failed', 422, `the value breaks the rule ${e.constraint}`, { constraint: e.constraint });
  }
  if (isRetryableDatabaseError(error)) return new RequestError('unavailable', 503, 'the database is busy; try again');
  return error;
}
