import express, { type Router } from 'express';
import type { ApiContext } from '../context.ts';
import { jsonBody } from '../../input-guard.ts';
import { sessionAuthenticator } from '../console.ts';
import { authenticateOperator, bearerAuthenticator } from './auth.ts';
import { createAdminRegistry, openApiRoute } from './openapi.ts';
import { createRouteDefiner } from './route.ts';
import { auditRoutes } from './audit.ts';
import { dataRoutes } from './data.ts';
import { operationRoutes } from './operations.ts';
import { provisioningLogRoutes } from './provisioning-log.ts';
import { queueDashboard } from './queues.ts';
import { settingsRoutes } from './settings.ts';
import { tokenRoutes } from './tokens.ts';
import { credentialRoutes } from './users.credentials.ts';
import { importRoutes } from './users.import.ts';
import { taskRoutes } from './tasks.ts';
import { userRoutes } from './users.ts';

/**
 * The admin API, mounted at /admin (DESIGN.md §4). Every route below the authentication line has
 * `req.operator` ({tenantId, actor, role}) and sees only that tenant.
 */
export function createAdminRouter(context: ApiContext): Router {
  const { orm } = context;
  const router = express.Router();
  const registry = createAdminRegistry();
  openApiRoute(router, registry);

  router.use(authenticateOperator([bearerAuthenticator(orm), sessionAuthenticator(orm)]));
  // 5 MiB: an operation on 10,000 users (a recycle names each new person) fits.
  router.use(jsonBody({ limit: '5mb' }));
  const define = createRouteDefiner(router, registry);
  userRoutes(define, { orm });
  importRoutes(define, { orm, logger: context.logger });
  credentialRoutes(define, { orm });
  dataRoutes(define, { orm });
  operationRoutes(define, { orm });
  taskRoutes(define, { orm, queues: context.queues });
  settingsRoutes(define, { orm });
  tokenRoutes(define, { orm });
  auditRoutes(define, { orm });
  provisioningLogRoutes(define, { orm });
  queueDashboard(router, { queues: context.queues });
  return router;
}
