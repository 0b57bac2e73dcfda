import createClient, { type Middleware } from 'openapi-fetch';
import type { paths } from './schema';

/**
 * The admin API client, typed from the generated OpenAPI schema. The console authenticates with
 * its HttpOnly session cookie; state-changing requests carry the CSRF token the server set in a
 * readable cookie (double submit). Nothing secret is kept in JavaScript storage.
 */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly title: string,
    readonly detail: string,
    readonly code: string,
    readonly body: unknown,
  ) {
    super(detail || title);
  }
}

export function csrfToken(): string {
  const match = /(?:^|;\s*)turnover_csrf=([^;]+)/.exec(document.cookie);
  return match ? decodeURIComponent(match[1]!) : '';
}

const csrf: Middleware = {
  onRequest({ request }) {
    if (request.method !== 'GET' && request.method !== 'HEAD') request.headers.set('X-CSRF-Token', csrfToken());
    return request;
  },
};

export const api = createClient<paths>({ baseUrl: '/admin', credentials: 'same-origin' });
api.use(csrf);

/** Throws the problem+json of a failed call as an ApiError; returns the data otherwise. */
export async function unwrap<T>(call: Promise<{ data?: T; error?: unknown; response: Response }>): Promise<T> {
  const { data, error, response } = await call;
  if (response.ok) return data as T;
  throw toApiError(response, error);
}

export function toApiError(response: Response, body: unknown): ApiError {
  const problem = (body ?? {}) as { title?: string; detail?: string; code?: string };
  return new ApiError(response.status, problem.title ?? response.statusText, problem.detail ?? '', problem.code ?? 'error', body);
}

/** The console's own session endpoints (outside the admin API). */
export interface Me {
  userId: string;
  userName: string;
  role: 'office_manager' | 'admin';
  tenant: string;
  firstName: string | null;
  lastName: string | null;
}

export async function sessionRequest(method: 'GET' | 'POST' | 'DELETE', body?: unknown): Promise<Me | null> {
  const response = await fetch('/console/api/session', {
    method,
    credentials: 'same-origin',
    headers: { 'Content-Type': 'application/json', ...(method === 'GET' ? {} : { 'X-CSRF-Token': csrfToken() }) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  if (response.status === 204) return null;
  const json = await response.json().catch(() => ({}));
  if (!response.ok) {
    if (method === 'GET' && response.status === 401) return null;
    throw toApiError(response, json);
  }
  return json as Me;
}
