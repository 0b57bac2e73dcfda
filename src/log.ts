import { pino, type DestinationStream, type Logger } from 'pino';
import { redactError, redactUrl } from './redact.ts';

export type { Logger };

/**
 * pino's error serializer, after every database error in the error (or its causes) has lost its
 * values: a failed statement is logged with its literals as `?`, without the failing row.
 */
export function serializeError(error: unknown): unknown {
  return pino.stdSerializers.err(redactError(error) as Error);
}

const urlSerializer = (value: unknown) => (typeof value === 'string' ? redactUrl(value) : value);

/**
 * The serializers of every logger: errors as above; `url` and `path` (request targets, as the
 * HTTP error lines log them) without secret query parameters. The request log's own `req`
 * serializer (src/http/app.ts) uses the same redactUrl.
 */
const LOG_SERIALIZERS = {
  err: serializeError,
  error: serializeError,
  url: urlSerializer,
  path: urlSerializer,
};

/**
 * Structured JSON logs on stdout (or `destination`); secrets are redacted wherever they could
 * appear: auth headers, `password`/`token` fields, secret URL parameters, database values.
 */
export function createLogger(level: string, bindings: Record<string, unknown> = {}, destination: 1 | 2 | DestinationStream = 1): Logger {
  return pino(
    {
      level,
      base: { service: 'turnover', ...bindings },
      timestamp: pino.stdTimeFunctions.isoTime,
      serializers: LOG_SERIALIZERS,
      redact: {
        paths: ['req.headers.authorization', 'req.headers.cookie', 'password', '*.password', 'token', '*.token'],
        censor: '[redacted]',
      },
    },
    typeof destination === 'number' ? pino.destination({ fd: destination, sync: destination === 2 }) : destination,
  );
}
