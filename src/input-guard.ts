import { isUtf8 } from 'node:buffer';
import express, { type RequestHandler } from 'express';

/**
 * What every API refuses before a handler, a recursive function or the database sees it:
 * - a NUL character in any string or object key (PostgreSQL cannot store it in text or jsonb and
 *   answers 22021/22P05, which used to surface as a 500 after parts of a request had run);
 * - JSON nested deeper than MAX_JSON_DEPTH (JSON.parse copes, but SCIMMY, zod and JSON.stringify
 *   recurse and throw RangeError);
 * - a URL longer than MAX_URL_LENGTH, or one whose path or query holds a NUL.
 * The error is protocol-neutral; each API's error renderer answers it in its own format.
 */
export const MAX_JSON_DEPTH = 32;
export const MAX_URL_LENGTH = 8192;

export type UnsafeReason = 'nul' | 'too_deep' | 'too_long' | 'invalid_utf8' | 'url_too_long';

export class UnsafeInputError extends Error {
  override name = 'UnsafeInputError';
  constructor(
    readonly reason: UnsafeReason,
    /** Where in the input: `body.name.givenName`, `url`. */
    readonly where: string,
  ) {
    super(
      reason === 'nul'
        ? `${where} contains a NUL character, which is not allowed`
        : reason === 'too_deep'
          ? `the request body is nested deeper than ${MAX_JSON_DEPTH} levels`
          : reason === 'too_long'
            ? `${where} is longer than allowed`
            : reason === 'invalid_utf8'
              ? 'the request body is not valid UTF-8'
              : `the request URL is longer than ${MAX_URL_LENGTH} characters`,
    );
  }
}

/**
 * The first unsafe place in a parsed value, or null. Iterative (an explicit stack), so a hostile
 * depth cannot overflow the call stack here either; it stops at the first finding.
 */
export function findUnsafeInput(
  value: unknown,
  { maxDepth = MAX_JSON_DEPTH, maxStringLength = Infinity }: { maxDepth?: number; maxStringLength?: number } = {},
): { reason: 'nul' | 'too_deep' | 'too_long'; path: string } | null {
  const stack: Array<{ value: unknown; depth: number; path: string }> = [{ value, depth: 0, path: 'body' }];
  while (stack.length > 0) {
    const { value: current, depth, path } = stack.pop()!;
    if (typeof current === 'string') {
      if (current.includes('\u0000')) return { reason: 'nul', path };
      if (current.length > maxStringLength) return { reason: 'too_long', path };
      continue;
    }
    if (current === null || typeof current !== 'object') continue;
    if (depth >= maxDepth) return { reason: 'too_deep', path };
    if (Array.isArray(current)) {
      for (let i = current.length - 1; i >= 0; i--) stack.push({ value: current[i], depth: depth + 1, path: `${path}[${i}]` });
      continue;
    }
    for (const [key, child] of Object.entries(current)) {
      if (key.includes('\u0000')) return { reason: 'nul', path: `${path} (a key)` };
      stack.push({ value: child, depth: depth + 1, path: `${path}.${key}` });
    }
  }
  return null;
}

/** NUL in a URL, raw or percent-encoded (`%00` decodes to NUL in a path segment or a query value). */
export function urlHasNul(url: string): boolean {
  return url.includes('\u0000') || /%00/i.test(url);
}

/** Mounted first on the app: a URL no API should parse. */
export const guardUrl: RequestHandler = (req, _res, next) => {
  if (req.originalUrl.length > MAX_URL_LENGTH) return next(new UnsafeInputError('url_too_long', 'url'));
  if (urlHasNul(req.originalUrl)) return next(new UnsafeInputError('nul', 'the URL'));
  next();
};

/** The parsed body refused when it holds NUL, is nested too deep or (optionally) has an overlong string. */
function guardParsedBody(maxStringLength?: number): RequestHandler {
  return (req, _res, next) => {
    const finding = req.body === undefined ? null : findUnsafeInput(req.body, maxStringLength ? { maxStringLength } : {});
    next(finding ? new UnsafeInputError(finding.reason, finding.path) : undefined);
  };
}

/** Bytes that are not UTF-8 would be decoded to U+FFFD and stored as such: refused instead. */
function verifyUtf8(req: { headers: Record<string, unknown> }, _res: unknown, buffer: Buffer): void {
  const charset = /charset\s*=\s*"?([^";\s]+)/i.exec(String(req.headers['content-type'] ?? ''))?.[1]?.toLowerCase();
  if ((charset === undefined || charset === 'utf-8' || charset === 'utf8') && !isUtf8(buffer)) throw new UnsafeInputError('invalid_utf8', 'body');
}

/**
 * express.json() followed by the guard: the only JSON body parser the APIs use. `maxStringLength`
 * caps every string in the body (SCIM attributes; the admin API's schemas cap their own fields).
 */
export function jsonBody(options: Parameters<typeof express.json>[0] & { maxStringLength?: number }): RequestHandler {
  const { maxStringLength, ...parserOptions } = options ?? {};
  return guarded(express.json({ ...parserOptions, verify: verifyUtf8 }), guardParsedBody(maxStringLength));
}

/** express.urlencoded() (flat: no nested keys) followed by the guard. */
export function formBody(limit: string): RequestHandler {
  return guarded(express.urlencoded({ extended: false, limit }), guardParsedBody());
}

function guarded(parse: RequestHandler, guard: RequestHandler): RequestHandler {
  // What `verify` throws comes back as the same object (body-parser only adds a 403 status to it);
  // classifyInputError recognises it by its class first.
  return (req, res, next) => parse(req, res, (error?: unknown) => (error ? next(error) : guard(req, res, next)));
}

/**
 * Errors of reading a request (express' body parsers, the guard above), as one neutral answer for
 * every API's renderer: body-parser marks its own with a 4xx `status` and `expose` (a gzip header
 * on a body that is not gzip is a 400 from zlib, with no `type`).
 */
export interface InputRefusal {
  status: number;
  code: string;
  detail: string;
  /** RFC 7644 §3.12 scimType, where one fits. */
  scimType?: 'invalidSyntax' | 'invalidValue';
  where?: string;
}

export function classifyInputError(error: unknown): InputRefusal | null {
  if (error instanceof UnsafeInputError) {
    if (error.reason === 'nul') return { status: 400, code: 'validation_failed', scimType: 'invalidValue', detail: error.message, where: error.where };
    if (error.reason === 'too_deep') return { status: 400, code: 'too_deep', scimType: 'invalidSyntax', detail: error.message };
    if (error.reason === 'too_long') return { status: 400, code: 'validation_failed', scimType: 'invalidValue', detail: error.message, where: error.where };
    if (error.reason === 'invalid_utf8') return { status: 400, code: 'invalid_body', scimType: 'invalidSyntax', detail: error.message };
    return { status: 414, code: 'uri_too_long', detail: error.message };
  }
  const e = error as { type?: string; status?: number; expose?: boolean; message?: string };
  if (e?.type === 'entity.parse.failed') return { status: 400, code: 'invalid_json', scimType: 'invalidSyntax', detail: 'The request body is not valid JSON.' };
  if (e?.type === 'entity.too.large') return { status: 413, code: 'payload_too_large', detail: 'The request body is too large.' };
  if (e?.type === 'encoding.unsupported' || e?.type === 'charset.unsupported') {
    return { status: 415, code: 'unsupported_media_type', detail: e.message ?? 'Unsupported request body encoding.' };
  }
  // body-parser and http-errors mark what may be shown with `expose`; express' router sets only
  // `status` (400 for a path parameter that is not valid percent-encoding).
  if (typeof e?.status === 'number' && e.status >= 400 && e.status < 500 && e.expose !== false) {
    // Everything else body-parser refuses: a body that does not decode (gzip that is not), a
    // length that does not match, an aborted upload.
    return e.status === 400
      ? { status: 400, code: 'invalid_body', scimType: 'invalidSyntax', detail: `The request body could not be read: ${e.message ?? 'malformed'}.` }
      : { status: e.status, code: 'bad_request', detail: e.message ?? 'bad request' };
  }
  return null;
}
