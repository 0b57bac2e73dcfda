import type { EntityManager } from '@mikro-orm/postgresql';
import type { ProvisioningLogEntry, ProvisioningOutcome } from './entities/index.ts';
import { sqlIn, sqlRun } from './sql.ts';

/**
 * The provisioning log's SQL, and the only code that touches `provisioning_log`: rows are written
 * in batches by src/scim/provisioning-log-writer.ts, read by the admin API, pruned by age on a
 * schedule and stripped of names by a permanent delete.
 */

/** A row to write: everything but the id. */
export type ProvisioningLogRow = Omit<ProvisioningLogEntry, 'id'>;

/**
 * The rows, in one statement whatever their number: one jsonb parameter unpacked by
 * jsonb_to_recordset (PostgreSQL turns a JSON array into the text[] column), so the statement's
 * text and its single parameter do not grow with the batch.
 */
export async function insertProvisioningLogEntries(em: EntityManager, rows: readonly ProvisioningLogRow[]): Promise<number> {
  if (!rows.length) return 0;
  const records = rows.map((r) => ({
    tenant_id: r.tenantId,
    at: r.at.toISOString(),
    token_id: r.tokenId,
    method: r.method,
    path: r.path,
    resource_type: r.resourceType,
    operation: r.operation,
    resource_id: r.resourceId,
    resource_name: r.resourceName,
    status: r.status,
    outcome: r.outcome,
    scim_type: r.scimType,
    detail: r.detail,
    request_id: r.requestId,
    duration_ms: r.durationMs,
    filter: r.filter,
    attributes: r.attributes,
  }));
  return sqlRun(em)(
    `insert into provisioning_log (tenant_id, at, token_id, method, path, resource_type, operation, resource_id, resource_name,
        status, outcome, scim_type, detail, request_id, duration_ms, filter, attributes)
     select tenant_id, at, token_id, method, path, resource_type, operation, resource_id, resource_name,
        status, outcome, scim_type, detail, request_id, duration_ms, filter, attributes
       from jsonb_to_recordset(?::jsonb) as r(tenant_id uuid, at timestamptz, token_id uuid, method text, path text, resource_type text,
        operation text, resource_id uuid, resource_name text, status smallint, outcome text, scim_type text, detail text,
        request_id text, duration_ms real, filter text, attributes text[])`,
    [JSON.stringify(records)],
  );
}

/** A row as the admin API reads it: the connection's token label, and the name of the resource today when the row has none. */
export interface ProvisioningLogRecord extends Omit<ProvisioningLogEntry, 'id' | 'tenantId'> {
  /** The bigint id as text. */
  id: string;
  tokenLabel: string | null;
  tokenPrefix: string | null;
}

export interface ProvisioningLogQuery {
  tenantId: string;
  /** The user the request touched. */
  userId?: string;
  /** The group the request touched. */
  groupId?: string;
  outcome?: ProvisioningOutcome;
  /** `at >= from`. */
  from?: string;
  /** `at < to`. */
  to?: string;
  /** Keyset: rows before this one in (at, id) descending order. */
  before?: { at: string; id: string };
  limit: number;
}

/** Newest first; each filter has its (tenant, ..., at, id) index. */
export async function findProvisioningLogEntries(em: EntityManager, query: ProvisioningLogQuery): Promise<{ entries: ProvisioningLogRecord[]; hasMore: boolean }> {
  const where = ['p.tenant_id = ?'];
  const params: unknown[] = [query.tenantId];
  const add = (clause: string, ...values: unknown[]) => {
    where.push(clause);
    params.push(...values);
  };
  if (query.userId) {
    // The user's rows, and the refused creates that named the user's userName (a 409 for a taken userName).
    add(
      `(p.resource_id = ?::uuid or (p.resource_id is null and p.resource_name is not null and p.resource_type = 'User'
        and lower(p.resource_name) = (select lower(user_name) from users where id = ?::uuid and tenant_id = p.tenant_id)))`,
      query.userId,
      query.userId,
    );
  }
  if (query.groupId) add('p.resource_id = ?::uuid', query.groupId);
  if (query.outcome) add('p.outcome = ?', query.outcome);
  if (query.from) add('p.at >= ?::timestamptz', query.from);
  if (query.to) add('p.at < ?::timestamptz', query.to);
  if (query.before) add('(p.at, p.id) < (?::timestamptz, ?::bigint)', query.before.at, query.before.id);
  // The name today (users, groups) fills in for a request that did not carry one (a PATCH, a DELETE).
  const rows = await sqlIn(em)<ProvisioningLogRecord>(
    `select p.id::text as id, p.at, p.token_id as "tokenId", t.label as "tokenLabel", t.prefix as "tokenPrefix",
            p.method, p.path, p.resource_type as "resourceType", p.operation, p.resource_id as "resourceId",
            coalesce(p.resource_name, u.user_name, g.display_name) as "resourceName",
            p.status, p.outcome, p.scim_type as "scimType", p.detail, p.request_id as "requestId",
            p.duration_ms as "durationMs", p.filter, p.attributes
       from provisioning_log p
       left join api_tokens t on t.id = p.token_id
       left join users u on p.resource_name is null and p.resource_type = 'User' and u.id = p.resource_id
       left join groups g on p.resource_name is null and p.resource_type = 'Group' and g.id = p.resource_id
      where ${where.join(' and ')}
      order by p.at desc, p.id desc
      limit ?`,
    [...params, query.limit + 1],
  );
  return { entries: rows.slice(0, query.limit).map((r) => ({ ...r, at: new Date(r.at) })), hasMore: rows.length > query.limit };
}

/**
 * Deletes rows older than `before`, `batchSize` at a time, each batch its own statement (short
 * locks, no long transaction), until none is left; returns how many went.
 */
export async function deleteProvisioningLogBefore(em: EntityManager, before: Date, batchSize = 5_000): Promise<number> {
  let total = 0;
  for (;;) {
    const deleted = await sqlRun(em)(
      `delete from provisioning_log where id in (select id from provisioning_log where at < ?::timestamptz order by at limit ?)`,
      [before.toISOString(), batchSize],
    );
    total += deleted;
    if (deleted < batchSize) return total;
  }
}

/** GDPR erasure: a purged user's rows keep the pseudonymous id and what happened, not the name. */
export async function erasePersonalDetailsFromProvisioningLog(em: EntityManager, userId: string): Promise<void> {
  await sqlIn(em)(`update provisioning_log set resource_name = null where resource_id = ?::uuid`, [userId]);
}
