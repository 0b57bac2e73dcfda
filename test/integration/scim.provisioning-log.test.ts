import { describe, expect, it } from 'vitest';
import { provisioningLogDropped, registry } from '../../src/metrics.ts';
import { pruneProvisioningLog } from '../../src/queue/schedules.ts';
import { createProvisioningLogWriter } from '../../src/scim/provisioning-log-writer.ts';
import { createLogger } from '../../src/log.ts';
import { insertProvisioningLogEntries, type ProvisioningLogRow } from '../../src/store/provisioning-log.ts';
import { apiClient, createAdminToken, createTenant } from '../support/api-client.ts';
import { CORE_USER, PATCH_OP, uniqueName, useScim } from './scim.helpers.ts';

/** The provisioning log from real SCIM requests to the rows the admin API answers. */
describe('provisioning log', () => {
  const s = useScim('scim_provisioning_log');

  const admin = async () => apiClient(s.t, await createAdminToken(s.t, 'office_manager'));

  /** The log's rows for a query, once `count` of them are there (rows are written a moment after the response). */
  async function rowsFor(query: string, count: number): Promise<any[]> {
    const api = await admin();
    let entries: any[] = [];
    for (let i = 0; i < 100; i++) {
      const reply = await api.get(`/admin/provisioning-log?${query}`);
      expect(reply.status, reply.text).toBe(200);
      entries = reply.body.entries;
      if (entries.length >= count) return entries;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`${entries.length} rows for ${query}, not ${count}`);
  }

  it('records each operation of a /Bulk request as a row of its own, beside the Bulk request', async () => {
    const userName = uniqueName('bulked');
    const bulk = await s.call('POST', '/Bulk', {
      schemas: ['urn:ietf:params:scim:api:messages:2.0:BulkRequest'],
      Operations: [
        { method: 'POST', path: '/Users', bulkId: 'u1', data: { schemas: [CORE_USER], userName } },
        { method: 'POST', path: '/Users', bulkId: 'u2', data: { schemas: [CORE_USER], userName } },
      ],
    });
    expect(bulk.status).toBe(200);
    const userId = bulk.body.Operations[0].location.split('/').pop();
    const history = await rowsFor(`userId=${userId}`, 2);
    expect(history.map((e) => [e.method, e.path, e.status])).toEqual(
      expect.arrayContaining([
        ['POST', '/Users', 201],
        ['POST', '/Users', 409],
      ]),
    );
    expect(history.find((e) => e.status === 201)).toMatchObject({ resourceId: userId, resourceName: userName, operation: 'create' });
  });

  it('records a create, a 409 duplicate, a 400 and a patch, with connection, outcome, error and request id, and finds them by user, outcome and time', async () => {
    const started = new Date().toISOString();
    const userName = uniqueName('logged');
    const password = 'Sup3r-secret-passw0rd!';
    const created = await s.call('POST', '/Users', { schemas: [CORE_USER], userName, password, name: { givenName: 'Ada', familyName: 'Lovelace' } }, { 'client-request-id': 'entra-req-1' });
    expect(created.status).toBe(201);
    const userId = created.body.id as string;
    const duplicate = await s.call('POST', '/Users', { schemas: [CORE_USER], userName, password }, { 'client-request-id': 'entra-req-2' });
    expect(duplicate.status).toBe(409);
    const invalid = await s.call('POST', '/Users', { schemas: [CORE_USER], name: { givenName: 'No user name' } }, { 'x-request-id': 'okta-req-3' });
    expect(invalid.status).toBe(400);
    const patched = await s.call('PATCH', `/Users/${userId}`, { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'name.givenName', value: 'Augusta' }, { op: 'add', path: 'emails[type eq "work"].value', value: 'ada@example.org' }] });
    expect(patched.status).toBe(200);
    const listed = await s.call('GET', `/Users?filter=${encodeURIComponent(`userName eq "${userName}" or password eq "${password}"`)}`);
    expect(listed.status).toBe(400); // password is not filterable; the filter is logged all the same, redacted

    // The user's history: its create and patch, and the refused create that named its userName.
    const history = await rowsFor(`userId=${userId}`, 3);
    expect(history.map((e) => [e.method, e.operation, e.status, e.outcome])).toEqual([
      ['PATCH', 'patch', 200, 'ok'],
      ['POST', 'create', 409, 'client_error'],
      ['POST', 'create', 201, 'ok'],
    ]);
    const [patchRow, duplicateRow, createRow] = history;
    expect(createRow).toMatchObject({
      tokenId: s.tokenId,
      tokenName: 'scim_provisioning_log',
      resourceType: 'User',
      resourceId: userId,
      resourceName: userName,
      path: '/Users',
      requestId: 'entra-req-1',
      scimType: null,
      detail: null,
    });
    expect(createRow.attributes).toEqual(expect.arrayContaining(['userName', 'password', 'name']));
    expect(createRow.durationMs).toBeGreaterThan(0);
    expect(duplicateRow).toMatchObject({ resourceId: null, resourceName: userName, scimType: 'uniqueness', requestId: 'entra-req-2' });
    expect(duplicateRow.detail).toMatch(/\S/);
    expect(patchRow).toMatchObject({ resourceId: userId, resourceName: userName, path: `/Users/${userId}`, attributes: ['name.givenName', 'emails.value'], requestId: null });

    // Refusals by outcome: the 409, the 400 (no user to file it under) and the refused list.
    const refused = await rowsFor(`outcome=client_error&from=${encodeURIComponent(started)}`, 3);
    expect(refused.map((e) => e.status)).toEqual([400, 400, 409]);
    const [listRow, invalidRow] = refused;
    expect(invalidRow).toMatchObject({ operation: 'create', resourceId: null, requestId: 'okta-req-3', scimType: expect.any(String) });
    expect(invalidRow.detail).toMatch(/\S/);
    expect(listRow.operation).toBe('list');
    expect(listRow.filter).toBe(`userName eq "${userName}" or password eq "[redacted]"`);
    expect((await rowsFor(`outcome=ok&from=${encodeURIComponent(started)}`, 2)).every((e) => e.outcome === 'ok')).toBe(true);

    // Time range: nothing before the test began, nothing from the future.
    expect((await rowsFor(`userId=${userId}&to=${encodeURIComponent(started)}`, 0)).length).toBe(0);
    expect((await rowsFor(`from=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}`, 0)).length).toBe(0);

    // Keyset pages of one cover the history once, in order.
    const api = await admin();
    const paged: string[] = [];
    let cursor: string | null = null;
    do {
      const page: any = await api.get(`/admin/provisioning-log?userId=${userId}&limit=1${cursor ? `&cursor=${cursor}` : ''}`);
      expect(page.status).toBe(200);
      paged.push(...page.body.entries.map((e: any) => e.id));
      cursor = page.body.nextCursor;
    } while (cursor);
    expect(paged).toEqual(history.map((e) => e.id));

    // Never a secret: no password, no token, anywhere in the table.
    const dump = JSON.stringify(await s.t.sql(`select * from provisioning_log`));
    expect(dump).not.toContain(password);
    expect(dump).not.toContain(s.token);
  });

  it('answers bad input with problem+json', async () => {
    const api = await admin();
    for (const query of ['outcome=maybe', 'userId=not-a-uuid', 'from=yesterday', 'from=2026-12-02T00:00:00Z&to=2026-12-01T00:00:00Z', 'cursor=garbage', 'limit=0']) {
      const reply = await api.get(`/admin/provisioning-log?${query}`);
      expect(reply.status, query).toBe(422);
      expect(reply.headers.get('content-type'), query).toMatch(/^application\/problem\+json/);
      expect(reply.body.code, query).toMatch(/^(validation_failed|invalid_cursor)$/);
    }
    expect((await apiClient(s.t).get('/admin/provisioning-log')).status).toBe(401);
  });

  it("is in the OpenAPI document, and another tenant's operators see none of this tenant's rows", async () => {
    const doc = (await apiClient(s.t).get('/admin/openapi.json')).body;
    expect(doc.paths['/provisioning-log'].get.parameters.map((p: { name: string }) => p.name)).toEqual(
      expect.arrayContaining(['userId', 'outcome', 'from', 'to', 'cursor', 'limit']),
    );
    expect(doc.components.schemas.ProvisioningLogEntry.properties.outcome.enum).toEqual(['ok', 'client_error', 'server_error']);
    expect((await rowsFor('', 1)).length).toBeGreaterThan(0);
    const other = apiClient(s.t, await createAdminToken(s.t, 'admin', await createTenant(s.t, 'provisioning-log-other')));
    const seen = await other.get('/admin/provisioning-log');
    expect(seen.status).toBe(200);
    expect(seen.body.entries).toEqual([]);
  });

  it('keeps rows for the configured days: the prune deletes older ones in batches and keeps the rest', async () => {
    const now = Date.now();
    const row = (daysAgo: number) => listRow(s.t.tenantId, `prune-${daysAgo}`, new Date(now - daysAgo * 86_400_000));
    // More old rows than one batch (5,000) holds.
    const old = Array.from({ length: 5_300 }, (_, i) => row(31 + (i % 5)));
    expect(await insertProvisioningLogEntries(s.t.runtime.orm.em.fork(), [...old, row(29), row(1)])).toBe(5_302);
    const left = async () => (await s.t.sql<{ request_id: string }>(`select request_id from provisioning_log where request_id like 'prune-%' order by at`)).map((r) => r.request_id);
    expect(await pruneProvisioningLog(s.t.runtime.orm, 30)).toBe(5_300);
    expect(await left()).toEqual(['prune-29', 'prune-1']);
    expect(await pruneProvisioningLog(s.t.runtime.orm, 2)).toBe(1);
    expect(await left()).toEqual(['prune-1']);
  });

  it('the writer never blocks: past its bound a row is dropped and counted, and close() writes what is buffered', async () => {
    const dropped = async () => (await provisioningLogDropped.get()).values.find((v) => v.labels.reason === 'overflow')?.value ?? 0;
    const before = await dropped();
    const writer = createProvisioningLogWriter({ orm: s.t.runtime.orm, logger: createLogger('silent'), maxBuffered: 3, flushMs: 60_000 });
    const row = (n: number) => listRow(s.t.tenantId, `bounded-${n}`);
    for (let n = 0; n < 5; n++) writer.record(row(n));
    expect(await dropped()).toBe(before + 2);
    expect(await s.t.sql(`select 1 from provisioning_log where request_id like 'bounded-%'`)).toHaveLength(0);
    await writer.close();
    expect((await s.t.sql<{ request_id: string }>(`select request_id from provisioning_log where request_id like 'bounded-%' order by id`)).map((r) => r.request_id)).toEqual([
      'bounded-0', 'bounded-1', 'bounded-2',
    ]);
    expect(await registry.getSingleMetricAsString('turnover_provisioning_log_entries_dropped_total')).toMatch(/reason="overflow"/);
  });
});

/** A fixture row: a successful user list, told apart by its request id. */
function listRow(tenantId: string, requestId: string, at = new Date()): ProvisioningLogRow {
  return {
    tenantId, at, tokenId: null, method: 'GET', path: '/Users', resourceType: 'User', operation: 'list', resourceId: null, resourceName: null,
    status: 200, outcome: 'ok', scimType: null, detail: null, requestId, durationMs: 1, filter: null, attributes: null,
  };
}
