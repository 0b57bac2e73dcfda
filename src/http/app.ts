import express, { type Express } from 'express';
import { pinoHttp } from 'pino-http';
import type { Logger } from '../log.ts';
import { notFound, problemHandler } from './errors.ts';
import { mountHealth, type ReadinessCheck } from './health.ts';

export interface AppDependencies {
  logger: Logger;
  /** `ops`: health and metrics only (worker processes); `all`: the whole API. */
  routes: 'all' | 'ops';
  readiness: ReadinessCheck[];
}

/** The HTTP surface. Route groups (SCIM, admin, client) mount here as they are built. */
export function createApp({ logger, readiness }: AppDependencies): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', 'loopback, linklocal, uniquelocal');
  app.use(
    pinoHttp({
      logger,
      // Probes every few seconds would drown the log.
      autoLogging: { ignore: (req) => req.url === '/healthz' || req.url === '/readyz' },
      customLogLevel: (_req, res, error) => (error || res.statusCode >= 500 ? 'error' : res.statusCode >= 400 ? 'warn' : 'info'),
    }),
  );
  const ops = express.Router();
  mountHealth(ops, readiness);
  app.use(ops);
  app.use(notFound);
  app.use(problemHandler(logger));
  return app;
}
