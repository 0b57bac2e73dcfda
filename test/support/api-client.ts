import type { OperatorRole } from '../../src/lifecycle/statuses.ts';
import { insertApiToken } from '../../src/store/tokens.ts';
import type { TestRuntime } from './runtime.ts';

export interface ApiResponse<T = any> {
  status: number;
  headers: Headers;
  body: T;
  text: string;
}

/** A live admin token of this tenant (default: the runtime's default tenant). */
export async function createAdminToken(t: TestRuntime, role: OperatorRole, tenantId = t.tenantId): Promise<string> {
  const em = t.runtime.orm.em.fork();
  const { token } = insertApiToken(em, { tenantId, kind: 'admin', role, actor: 'test' });
  await em.flush();
  return token;
}

/** A second tenant, for isolation tests. */
export async function createTenant(t: TestRuntime, name: string): Promise<string> {
  const [row] = await t.sql<{ id: string }>(`insert into tenants (id, name) values (gen_random_uuid(), ?) returning id`, [name]);
  return row!.id;
}

/** JSON over HTTP against the running API, with an optional bearer token. */
export function apiClient(t: TestRuntime, token?: string) {
  async function call<T = any>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<ApiResponse<T>> {
    const init: RequestInit = { method, headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers } };
    if (body !== undefined) {
      if (typeof body === 'string') init.body = body;
      else {
        init.body = JSON.stringify(body);
        (init.headers as Record<string, string>)['content-type'] = 'application/json';
      }
    }
    const res = await fetch(`${t.runtime.url}${path}`, init);
    const text = await res.text();
    let parsed: unknown = text;
    if (/json/.test(res.headers.get('content-type') ?? '')) parsed = text ? JSON.parse(text) : undefined;
    return { status: res.status, headers: res.headers, body: parsed as T, text };
  }
  return {
    get: <T = any>(path: string) => call<T>('GET', path),
    post: <T = any>(path: string, body?: unknown, headers?: Record<string, string>) => call<T>('POST', path, body ?? {}, headers),
    put: <T = any>(path: string, body?: unknown) => call<T>('PUT', path, body ?? {}),
    patch: <T = any>(path: string, body?: unknown) => call<T>('PATCH', path, body ?? {}),
    delete: <T = any>(path: string) => call<T>('DELETE', path),
    call,
  };
}
