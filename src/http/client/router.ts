import express, { type Router } from 'express';
import type { ApiContext } from '../context.ts';
import { checkinRoutes } from './checkin.ts';
import { LOGIN_RATE_LIMITS, loginRoutes } from './login.ts';
import { passwordRoutes } from './password.ts';

/**
 * The client API (/client/*) and the set-password page (/set-password), mounted at the root
 * (DESIGN.md §4). Apps and end users, not operators: each route authenticates on its own terms
 * (password, device token, set-password link).
 */
export function createClientRouter(context: ApiContext, options: { loginLimits?: typeof LOGIN_RATE_LIMITS } = {}): Router {
  const router = express.Router();
  loginRoutes(router, {
    orm: context.orm,
    ...(options.loginLimits ? { limits: options.loginLimits } : {}),
    ...(context.limits ? { stores: context.limits } : {}),
  });
  checkinRoutes(router, { orm: context.orm, queues: context.queues });
  passwordRoutes(router, { orm: context.orm });
  return router;
}
