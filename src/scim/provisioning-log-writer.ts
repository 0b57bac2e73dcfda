import type { Logger } from '../log.ts';
import { provisioningLogDropped, provisioningLogWritten } from '../metrics.ts';
import { classifyDatabaseError } from '../store/errors.ts';
import type { Orm } from '../store/orm.ts';
import { insertProvisioningLogEntries, type ProvisioningLogRow } from '../store/provisioning-log.ts';

/**
 * Writes provisioning log rows off the request's path: `record` only pushes onto an in-memory
 * buffer; the buffer goes to the database as one multi-row INSERT when it holds `maxBatch` rows or
 * `flushMs` after its first row, one INSERT at a time (so it holds at most one connection).
 *
 * SCIM creates run at ~450/s (bench:scim): one INSERT per request would double their statements;
 * a batch every 200 ms costs a few statements a second. The buffer is bounded: past `maxBuffered`
 * a row is dropped and counted (turnover_provisioning_log_entries_dropped_total), never waited
 * for. While the database is unreachable, a batch goes back on the buffer and is retried with
 * backoff; a batch the database refuses otherwise is dropped and counted. `close()` writes what is
 * left (shutdown, after the HTTP server has stopped).
 */
export interface ProvisioningLogWriter {
  record(row: ProvisioningLogRow): void;
  /** Writes everything buffered now; resolves when the buffer is empty or a write failed. */
  flush(): Promise<void>;
  /** Stops the timer, writes what is left; later rows are dropped (reason `closed`). */
  close(): Promise<void>;
}

export interface ProvisioningLogWriterOptions {
  orm: Orm;
  logger: Logger;
  maxBatch?: number;
  maxBuffered?: number;
  flushMs?: number;
  /** Longest wait between retries while the database is unreachable. */
  maxRetryMs?: number;
}

export function createProvisioningLogWriter({
  orm,
  logger,
  maxBatch = 1_000,
  maxBuffered = 20_000,
  flushMs = 200,
  maxRetryMs = 30_000,
}: ProvisioningLogWriterOptions): ProvisioningLogWriter {
  let buffer: ProvisioningLogRow[] = [];
  let timer: NodeJS.Timeout | undefined;
  let writing: Promise<boolean> | undefined;
  let retryMs = 0;
  let closed = false;

  const schedule = (ms: number) => {
    if (timer || closed) return;
    timer = setTimeout(() => {
      timer = undefined;
      void drain();
    }, ms);
    // A buffered row never keeps the process alive; close() writes it.
    timer.unref();
  };

  /** One batch to the database; false when it failed. */
  const writeBatch = async (): Promise<boolean> => {
    const batch = buffer.slice(0, maxBatch);
    buffer = buffer.slice(batch.length);
    try {
      await insertProvisioningLogEntries(orm.em.fork(), batch);
      provisioningLogWritten.inc(batch.length);
      retryMs = 0;
      return true;
    } catch (error) {
      if (classifyDatabaseError(error)?.kind === 'unavailable' && !closed) {
        // Put back in front (oldest first), as far as the bound allows.
        const room = Math.max(0, maxBuffered - buffer.length);
        if (room < batch.length) provisioningLogDropped.inc({ reason: 'overflow' }, batch.length - room);
        buffer = [...batch.slice(0, room), ...buffer];
        retryMs = Math.min(maxRetryMs, retryMs ? retryMs * 2 : 1_000);
        logger.warn({ err: error, rows: buffer.length, retryInMs: retryMs }, 'provisioning log: database unreachable, will retry');
      } else {
        provisioningLogDropped.inc({ reason: 'write_failed' }, batch.length);
        logger.error({ err: error, rows: batch.length }, 'provisioning log: rows refused by the database, dropped');
      }
      return false;
    }
  };

  /** Writes batches until the buffer is empty or one fails (then retries later). One drain at a time. */
  const drain = (): Promise<boolean> => {
    writing ??= (async () => {
      try {
        while (buffer.length) {
          if (!(await writeBatch())) {
            if (buffer.length) schedule(retryMs || flushMs);
            return false;
          }
        }
        return true;
      } finally {
        writing = undefined;
      }
    })();
    return writing;
  };

  return {
    record(row) {
      if (closed) {
        provisioningLogDropped.inc({ reason: 'closed' });
        return;
      }
      if (buffer.length >= maxBuffered) {
        provisioningLogDropped.inc({ reason: 'overflow' });
        return;
      }
      buffer.push(row);
      if (buffer.length >= maxBatch && !writing && !retryMs) void drain();
      else schedule(flushMs);
    },
    async flush() {
      if (writing) await writing;
      await drain();
    },
    async close() {
      closed = true;
      clearTimeout(timer);
      timer = undefined;
      if (writing) await writing;
      // One last attempt: after it, whatever is left is lost with the process, and counted.
      await drain();
      if (buffer.length) provisioningLogDropped.inc({ reason: 'closed' }, buffer.length);
      buffer = [];
    },
  };
}
