import { beforeAll } from 'vitest';
import { insertApiToken } from '../../src/store/tokens.ts';
import { useTestRuntime, type TestRuntime } from '../support/runtime.ts';

export const CORE_USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
export const CORE_GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';
export const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
export const TURNOVER = 'urn:ietf:params:scim:schemas:extension:turnover:2.0:User';
export const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';

export interface ScimReply {
  status: number;
  contentType: string | null;
  headers: Headers;
  body: any;
}

export interface ScimHarness {
  t: TestRuntime;
  token: string;
  tokenId: string;
  /** A request to /scim/v2 with the harness token (or the given headers). */
  call(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<ScimReply>;
  /** POST /Users with a fresh userName; returns the created resource. */
  createUser(extra?: Record<string, unknown>): Promise<any>;
  patch(path: string, Operations: unknown[]): Promise<ScimReply>;
}

let counter = 0;
export const uniqueName = (prefix = 'user') => `${prefix}.${process.pid}.${Date.now().toString(36)}.${counter++}@example.org`;

/** A turnover API on this file's own database (relay and workers off: task rows stay visible) and a SCIM token. */
export function useScim(label: string): ScimHarness {
  const t = useTestRuntime({ label, roles: { api: true, relay: false, workers: false } });
  const h = { t } as ScimHarness;
  beforeAll(async () => {
    const em = t.runtime.orm.em.fork();
    const { token, record } = insertApiToken(em, { tenantId: t.tenantId, kind: 'scim', label: label, actor: 'test' });
    await em.flush();
    h.token = token;
    h.tokenId = record.id;
  });
  h.call = async (method, path, body, headers) => {
    const response = await fetch(`${t.runtime.url}/scim/v2${path}`, {
      method,
      headers: {
        authorization: `Bearer ${h.token}`,
        ...(body === undefined ? {} : { 'content-type': 'application/scim+json' }),
        ...headers,
      },
      ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
    });
    const text = await response.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      // left as text
    }
    return { status: response.status, contentType: response.headers.get('content-type'), headers: response.headers, body: parsed };
  };
  h.createUser = async (extra = {}) => {
    const reply = await h.call('POST', '/Users', { schemas: [CORE_USER], userName: uniqueName(), name: { givenName: 'Ada', familyName: 'Lovelace' }, ...extra });
    if (reply.status !== 201) throw new Error(`create failed: ${reply.status} ${JSON.stringify(reply.body)}`);
    return reply.body;
  };
  h.patch = (path, Operations) => h.call('PATCH', path, { schemas: [PATCH_OP], Operations });
  return h;
}
