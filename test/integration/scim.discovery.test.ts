import { describe, expect, it } from 'vitest';
import { ENTERPRISE, TURNOVER, useScim } from './scim.helpers.ts';

describe('SCIM discovery', () => {
  const s = useScim('scim_discovery');

  it('ServiceProviderConfig states what is really served', async () => {
    const reply = await s.call('GET', '/ServiceProviderConfig');
    expect(reply.status).toBe(200);
    expect(reply.contentType).toMatch(/^application\/scim\+json/);
    expect(reply.body).toMatchObject({
      patch: { supported: true },
      bulk: { supported: true, maxOperations: 1000, maxPayloadSize: 1048576 },
      filter: { supported: true, maxResults: 200 },
      changePassword: { supported: true },
      sort: { supported: true },
      etag: { supported: true },
      authenticationSchemes: [expect.objectContaining({ type: 'oauthbearertoken' })],
    });
    expect(reply.body.authenticationSchemes).toHaveLength(1);
    // Served (scim.bulk.test.ts): an empty BulkRequest is the client's mistake.
    expect((await s.call('POST', '/Bulk', { schemas: ['urn:ietf:params:scim:api:messages:2.0:BulkRequest'], Operations: [] })).status).toBe(400);
  });

  it('ResourceTypes lists Users with both extensions and Groups', async () => {
    const reply = await s.call('GET', '/ResourceTypes');
    expect(reply.status).toBe(200);
    const byName = Object.fromEntries(reply.body.Resources.map((r: { name: string }) => [r.name, r]));
    expect(byName.User).toMatchObject({ endpoint: '/Users', schemaExtensions: [{ schema: ENTERPRISE, required: false }, { schema: TURNOVER, required: false }] });
    expect(byName.Group).toMatchObject({ endpoint: '/Groups' });
  });

  it('Schemas describes the turnover extension: extension, role, terminationDate and a read-only status', async () => {
    const reply = await s.call('GET', `/Schemas/${TURNOVER}`);
    expect(reply.status).toBe(200);
    const attributes = Object.fromEntries(reply.body.attributes.map((a: { name: string }) => [a.name, a]));
    expect(Object.keys(attributes).sort()).toEqual(['extension', 'role', 'status', 'terminationDate']);
    expect(attributes.status.mutability).toBe('readOnly');
    expect(attributes.terminationDate.type).toBe('dateTime');
    expect(attributes.role.canonicalValues).toContain('call_center_agent');
    const user = await s.call('GET', '/Schemas/urn:ietf:params:scim:schemas:core:2.0:User');
    const password = user.body.attributes.find((a: { name: string }) => a.name === 'password');
    expect(password).toMatchObject({ returned: 'never' });
  });

  it('counts SCIM operations in /metrics', async () => {
    await s.createUser();
    const metrics = await (await fetch(`${s.t.runtime.url}/metrics`)).text();
    expect(metrics).toMatch(/turnover_scim_operations_total\{idp="[0-9a-f-]{36}",resource="User",operation="create",outcome="ok"\} [1-9]/);
  });
});
