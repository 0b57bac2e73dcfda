import type { RequestHandler } from 'express';
import { OPERATOR_ROLES, type OperatorRole } from '../../lifecycle/statuses.ts';
import type { Orm } from '../../store/orm.ts';
import { resolvePolicy, type Policy } from '../../lifecycle/policy.ts';
import { findActiveAdminToken } from '../../store/tokens.ts';
import { RequestError } from '../errors.ts';

/**
 * Who is calling the admin API. Every admin route reads only this, never the token: a later
 * issue adds the console's cookie session as a second authenticator producing the same shape.
 */
export interface Operator {
  tenantId: string;
  /** Audit actor: `admin:<token id>` (a session will give `operator:<user id>`). */
  actor: string;
  role: OperatorRole;
  /** The tenant's lifecycle policy, read with the token or session: no query of its own per request. */
  policy: Policy;
}

declare module 'express-serve-static-core' {
  interface Request {
    /** Set by authenticateOperator on every /admin route. */
    operator?: Operator;
  }
}

/**
 * One way of proving who the operator is. Returns the operator, `null` when this method does not
 * apply to the request (no bearer header, no session cookie), or throws 401 when it applies and fails.
 */
export type OperatorAuthenticator = (req: Parameters<RequestHandler>[0]) => Promise<Operator | null>;

/** `Authorization: Bearer <admin token>`: a live token of kind admin carries tenant and role. */
export function bearerAuthenticator(orm: Orm): OperatorAuthenticator {
  return async (req) => {
    const header = req.get('authorization');
    if (!header) return null;
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    const found = match ? await findActiveAdminToken(orm.em.fork(), match[1]!) : null;
    if (!found) throw unauthorized('the bearer token is not a live admin token');
    return { tenantId: found.tenantId, actor: `admin:${found.id}`, role: found.role, policy: resolvePolicy(found.policy) };
  };
}

/** Tries each authenticator in turn; 401 when none applies. */
export function authenticateOperator(authenticators: OperatorAuthenticator[]): RequestHandler {
  return async (req, res, next) => {
    for (const authenticate of authenticators) {
      const operator = await authenticate(req);
      if (operator) {
        req.operator = operator;
        return next();
      }
    }
    res.set('WWW-Authenticate', 'Bearer realm="turnover admin"');
    throw unauthorized('an admin bearer token is required');
  };
}

/** `admin` may do everything `office_manager` may, and more. */
const RANK: Record<OperatorRole, number> = Object.fromEntries(OPERATOR_ROLES.map((role, i) => [role, i])) as Record<OperatorRole, number>;

export function requireRole(least: OperatorRole): RequestHandler {
  return (req, _res, next) => {
    const operator = req.operator;
    if (!operator) throw unauthorized('an admin bearer token is required');
    if (RANK[operator.role] < RANK[least]) {
      throw new RequestError('forbidden', 403, `this needs the ${least} role; the token has ${operator.role}`, { requiredRole: least });
    }
    next();
  };
}

function unauthorized(message: string): RequestError {
  return new RequestError('unauthorized', 401, message);
}
