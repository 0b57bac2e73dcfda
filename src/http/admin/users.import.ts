import { parse } from 'csv-parse';
import { z } from 'zod';
import type { Orm } from '../../store/orm.ts';
import type { Logger } from '../../log.ts';
import { RequestError, toRequestError } from '../errors.ts';
import { findUnsafeInput } from '../../input-guard.ts';
import type { DefineRoute } from './route.ts';
import { createUser, createUserBody } from './users.ts';

/**
 * POST /admin/users/import ("import a list of new users"): a CSV body whose header row
 * uses the field names of POST /admin/users. Streamed: each row is validated and created as it
 * is read, in its own transaction (the user, its welcome task and its audit entry commit
 * together, so no row is ever half-written); a bad row is reported with its line number and
 * skipped, and does not stop the rows after it. The answer always describes exactly what was
 * written: when reading cannot go on (a CSV the parser gives up on, the database gone), it says
 * where it stopped and why, after the rows it did import.
 */
const COLUMNS = Object.keys(createUserBody.shape) as Array<keyof typeof createUserBody.shape>;
const REQUIRED = ['firstName', 'lastName', 'email'];
/** Rows read per request; a bigger list is several requests (each answer lists what it did). */
export const MAX_IMPORT_ROWS = 10_000;
const MAX_BYTES = 5 * 1024 * 1024;

const rowResult = z
  .object({
    line: z.number().int(),
    ok: z.boolean(),
    userId: z.uuid().optional(),
    userName: z.string().optional(),
    error: z.object({ code: z.string(), message: z.string(), issues: z.array(z.object({ column: z.string(), message: z.string() })).optional() }).optional(),
  })
  .openapi('ImportRow');
const importResponse = z
  .object({
    created: z.number(),
    failed: z.number(),
    rows: z.array(rowResult),
    /** Set when reading stopped early (the row limit): send the rest from `line` on. */
    stopped: z.object({ line: z.number().nullable(), reason: z.string() }).nullable(),
  })
  .openapi('ImportResult');
type RowResult = z.infer<typeof rowResult>;

const TRUE = new Set(['true', 'yes', '1']);
const FALSE = new Set(['false', 'no', '0']);

export function importRoutes(define: DefineRoute, { orm, logger }: { orm: Orm; logger: Logger }): void {
  define({
    method: 'post',
    path: '/users/import',
    tag: 'Users',
    summary: 'Import new users from CSV',
    description: `Header row with any of: ${COLUMNS.join(', ')} (firstName, lastName and email required). Each row is created on its own, with a welcome email unless sendWelcome is false; bad rows are reported with their line number and skipped.`,
    rawBody: { contentType: 'text/csv', description: 'CSV, UTF-8, header row first.' },
    responses: {
      200: { description: 'What happened to each row.', schema: importResponse },
      413: { description: 'The body is larger than 5 MiB.' },
      415: { description: 'Not text/csv.' },
      422: { description: 'The header row names an unknown column or misses a required one (nothing was created).' },
    },
    handler: async ({ req, operator }) => {
      if (!req.is(['text/csv', 'application/csv'])) throw new RequestError('unsupported_media_type', 415, 'send the users as text/csv');
      const declared = Number(req.get('content-length') ?? 0);
      if (declared > MAX_BYTES) throw new RequestError('payload_too_large', 413, 'the CSV may be at most 5 MiB');

      // A malformed record (a stray quote) is skipped and reported, not fatal to the rows around it.
      const parser = parse({
        bom: true,
        trim: true,
        skip_empty_lines: true,
        relax_column_count: true,
        skip_records_with_error: true,
        info: true,
        max_record_size: 64 * 1024,
      });
      const unreadable: RowResult[] = [];
      parser.on('skip', (error: Error & { lines?: number }) => {
        unreadable.push({ line: error.lines ?? 0, ok: false, error: { code: 'unreadable_row', message: error.message } });
      });
      let bytes = 0;
      req.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
        if (bytes > MAX_BYTES) parser.destroy(new RequestError('payload_too_large', 413, 'the CSV may be at most 5 MiB'));
      });
      req.pipe(parser);

      let header: string[] | null = null;
      const rows: RowResult[] = [];
      let stopped: { line: number | null; reason: string } | null = null;
      let line: number | null = null;
      try {
        for await (const { record, info } of parser as AsyncIterable<{ record: string[]; info: { lines: number } }>) {
          line = info.lines;
          if (!header) {
            header = checkHeader(record);
            continue;
          }
          if (rows.length >= MAX_IMPORT_ROWS) {
            stopped = { line: info.lines, reason: `only ${MAX_IMPORT_ROWS} rows are read per request; send the rest from this line on` };
            break;
          }
          rows.push(await importRow(orm, operator, header, record, info.lines));
        }
      } catch (error) {
        // Before any row was written (no header yet, or a bad one) the request fails as a whole.
        if (!header || error instanceof RequestError) throw error;
        const known = toRequestError(error);
        if (known.status >= 500 && known.status !== 503) logger.error({ err: error, line }, 'CSV import stopped');
        stopped = {
          line,
          reason:
            known.status === 503
              ? 'the database became unavailable; the rows above were imported, send the rest from this line on'
              : known.status < 500
                ? `the CSV could not be read past this line: ${known.message}`
                : 'an internal error stopped the import here; the rows above were imported, send the rest from this line on',
        };
      } finally {
        req.unpipe(parser);
        req.resume(); // drain what was not read, so the connection stays usable
      }
      if (!header) throw new RequestError('validation_failed', 422, 'the CSV has no readable header row');
      rows.push(...unreadable);
      rows.sort((a, b) => a.line - b.line);
      const created = rows.filter((r) => r.ok).length;
      return { status: 200, body: { created, failed: rows.length - created, rows, stopped } };
    },
  });
}

function checkHeader(record: string[]): string[] {
  const header = record.map((h) => h.trim());
  const unknown = header.filter((h) => !(COLUMNS as string[]).includes(h));
  const missing = REQUIRED.filter((h) => !header.includes(h));
  const repeated = header.filter((h, i) => header.indexOf(h) !== i);
  if (unknown.length || missing.length || repeated.length) {
    throw new RequestError('invalid_header', 422, 'the header row does not match the user fields', {
      ...(unknown.length ? { unknown } : {}),
      ...(missing.length ? { missing } : {}),
      ...(repeated.length ? { repeated } : {}),
      allowed: COLUMNS,
    });
  }
  return header;
}

async function importRow(orm: Orm, operator: Parameters<typeof createUser>[1], header: string[], record: string[], line: number): Promise<RowResult> {
  if (record.length !== header.length) {
    return { line, ok: false, error: { code: 'wrong_column_count', message: `expected ${header.length} columns, found ${record.length}` } };
  }
  const unsafe = findUnsafeInput(record);
  if (unsafe) {
    const column = header[Number(/\[(\d+)\]/.exec(unsafe.path)?.[1] ?? -1)] ?? '(row)';
    return { line, ok: false, error: { code: 'validation_failed', message: 'the row is not a valid user', issues: [{ column, message: 'contains a NUL character, which is not allowed' }] } };
  }
  const fields: Record<string, unknown> = {};
  header.forEach((column, i) => {
    const value = record[i]!;
    if (value === '') return; // an empty cell is an absent field
    if (column === 'sendWelcome') fields[column] = TRUE.has(value.toLowerCase()) ? true : FALSE.has(value.toLowerCase()) ? false : value;
    else fields[column] = value;
  });
  const parsed = createUserBody.safeParse(fields);
  if (!parsed.success) {
    return {
      line,
      ok: false,
      error: {
        code: 'validation_failed',
        message: 'the row is not a valid user',
        issues: parsed.error.issues.map((i) => ({ column: i.path.map(String).join('.') || '(row)', message: i.message })),
      },
    };
  }
  try {
    const user = await createUser(orm, operator, parsed.data, { via: 'csv_import', line });
    return { line, ok: true, userId: user.id, userName: user.userName ?? undefined };
  } catch (error) {
    const known = toRequestError(error);
    if (known.status < 500) return { line, ok: false, error: { code: known.code, message: known.message } };
    throw error;
  }
}
