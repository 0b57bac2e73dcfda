import express, { type ErrorRequestHandler, type Express, type RequestHandler } from 'express';
import { pinoHttp } from 'pino-http';
import { serializeError, type Logger } from '../log.ts';
import { redactUrl } from '../redact.ts';
import { registry } from '../metrics.ts';
import { toScimFailure, sendScimError } from '../scim/errors.ts';
import { createScimRouter } from '../scim/router.ts';
import { createAdminRouter } from './admin/router.ts';
import { createClientRouter } from './client/router.ts';
import { createConsoleRouter } from './console.ts';
import type { ApiContext } from './context.ts';
import { notFound, problemHandler } from './errors.ts';
import { guardUrl } from '../input-guard.ts';
import { countRequests } from './route-metrics.ts';
import { mountHealth, runReadiness, type ReadinessCheck } from './health.ts';

export interface AppDependencies {
  logger: Logger;
  readiness: ReadinessCheck[];
  /** The whole API when given; without it (worker processes) only health and metrics. */
  api?: ApiContext;
  /** Extra scrape-time collection for /metrics (queue depth), run before each scrape. */
  beforeScrape?: () => Promise<void>;
}

/**
 * The HTTP surface: ops endpoints everywhere; SCIM at /scim/v2, the admin API at /admin, the
 * client API at /client (and its set-password page) in API processes. Each route group parses its
 * own bodies and answers errors in its own protocol's format (SCIM errors, problem+json).
 */
export function createApp({ logger, readiness, api, beforeScrape }: AppDependencies): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', 'loopback, linklocal, uniquelocal');
  app.use(
    pinoHttp({
      logger,
      // Probes every few seconds would drown the log.
      autoLogging: { ignore: (req) => req.url === '/healthz' || req.url === '/readyz' || req.url === '/metrics' },
      customLogLevel: (_req, res, error) => (error || res.statusCode >= 500 ? 'error' : res.statusCode >= 400 ? 'warn' : 'info'),
      // What an operator reads a request by (the client's user agent tells Okta from Entra), not
      // every header: cheaper per request, and no header can carry a secret into the log. The
      // URL loses its secret parameters (a set-password link's token). Unwrapped: these get the
      // raw request, and pino-http keeps our error serializer instead of putting pino's plain one.
      wrapSerializers: false,
      serializers: {
        req: (req: { id: unknown; method: string; url: string; originalUrl?: string; headers: Record<string, unknown> }) => ({
          id: req.id,
          method: req.method,
          url: redactUrl(req.originalUrl ?? req.url),
          userAgent: req.headers['user-agent'],
        }),
        res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
        err: serializeError,
      },
    }),
  );
  app.use(countRequests());
  app.use(guardUrl);
  const ops = express.Router();
  mountHealth(ops, readiness);
  ops.get('/metrics', async (_req, res, next) => {
    try {
      // A failed readiness check is a value (0), not a failed scrape: alerts read it.
      await Promise.all([beforeScrape?.(), runReadiness(readiness)]);
      res.type(registry.contentType).send(await registry.metrics());
    } catch (error) {
      next(error);
    }
  });
  app.use(ops);
  if (api) {
    app.use('/scim/v2', createScimRouter(api));
    app.use('/admin', createAdminRouter(api));
    app.use(createClientRouter(api));
    app.use('/console', createConsoleRouter(api));
  }
  app.use(notFound);
  app.use(scimErrors(logger));
  app.use(problemHandler(logger));
  return app;
}

/**
 * Errors raised before the SCIM router ran (the URL guard) still answer in SCIM's format under
 * /scim: an IdP parses SCIM error bodies, not problem+json.
 */
function scimErrors(logger: Logger): ErrorRequestHandler {
  return (error, req, res, next) => {
    if (!req.originalUrl.startsWith('/scim/') || res.headersSent) return next(error);
    const failure = toScimFailure(error);
    if (failure.internal) logger.error({ err: error, method: req.method }, 'SCIM request failed');
    sendScimError(res, failure);
  };
}

