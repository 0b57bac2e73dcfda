import { describe, expect, it } from 'vitest';
import { attributesIn, describeScimRequest, outcomeOf } from '../../src/scim/provisioning-log.ts';

const ID = '0b6f1c1e-8a4e-4d2b-9a57-3f1c2d4e5f60';
const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';

describe('provisioning log: what a SCIM request is', () => {
  it('names the resource type, operation and id from the method and path', () => {
    expect(describeScimRequest('POST', '/Users')).toEqual({ resourceType: 'User', operation: 'create', resourceId: null });
    expect(describeScimRequest('GET', '/users')).toEqual({ resourceType: 'User', operation: 'list', resourceId: null });
    expect(describeScimRequest('POST', '/Groups/.search')).toEqual({ resourceType: 'Group', operation: 'list', resourceId: null });
    expect(describeScimRequest('PATCH', `/Users/${ID.toUpperCase()}`)).toEqual({ resourceType: 'User', operation: 'patch', resourceId: ID });
    expect(describeScimRequest('delete', `/Groups/${ID}`)).toEqual({ resourceType: 'Group', operation: 'delete', resourceId: ID });
    // An id that is not one of ours names nothing (the path keeps it).
    expect(describeScimRequest('GET', '/Users/not-an-id')).toEqual({ resourceType: 'User', operation: 'get', resourceId: null });
    expect(describeScimRequest('GET', '/ServiceProviderConfig')).toEqual({ resourceType: 'ServiceProviderConfig', operation: null, resourceId: null });
    expect(describeScimRequest('POST', '/Bulk')).toEqual({ resourceType: 'Bulk', operation: null, resourceId: null });
    expect(describeScimRequest('GET', '/Nope/1/2')).toEqual({ resourceType: null, operation: null, resourceId: null });
  });

  it('keeps the names of the attributes a write sets, never their values', () => {
    expect(attributesIn('create', { schemas: [], id: 'x', userName: 'a', password: 'secret', [ENTERPRISE]: { department: 'Sales', manager: { value: ID } } })).toEqual([
      'userName', 'password', 'department', 'manager',
    ]);
    expect(
      attributesIn('patch', {
        Operations: [
          { op: 'replace', path: 'emails[type eq "work"].value', value: 'a@example.org' },
          { op: 'Replace', path: `${ENTERPRISE}:department`, value: 'Sales' },
          { op: 'replace', value: { active: false, displayName: 'A' } },
          { op: 'remove', path: 'members[value eq "x"]' },
          'junk',
        ],
      }),
    ).toEqual(['emails.value', 'department', 'active', 'displayName', 'members']);
    expect(attributesIn('patch', { Operations: 'nope' })).toEqual([]);
  });

  it('classes statuses as Prometheus outcome labels do', () => {
    expect([200, 201, 204, 304, 400, 401, 409, 499, 500, 503].map(outcomeOf)).toEqual([
      'ok', 'ok', 'ok', 'ok', 'client_error', 'client_error', 'client_error', 'client_error', 'server_error', 'server_error',
    ]);
  });
});
