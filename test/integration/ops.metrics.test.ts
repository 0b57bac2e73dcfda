import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { apiClient, createAdminToken } from '../support/api-client.ts';
import { useTestRuntime } from '../support/runtime.ts';

/** /metrics as Prometheus scrapes it, after real requests, and the queue dashboard's page. */
describe('metrics and the queue dashboard', () => {
  const t = useTestRuntime({ label: 'ops_metrics' });

  async function scrape(): Promise<string> {
    const res = await apiClient(t).get('/metrics');
    expect(res.status).toBe(200);
    return res.text;
  }

  it('follows Prometheus naming: standard process_ and nodejs_ names, no doubled prefix, counters end in _total', async () => {
    const text = await scrape();
    const types = [...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => ({ name: m[1]!, type: m[2]! }));
    expect(types.map((m) => m.name)).toContain('process_cpu_seconds_total');
    expect(types.map((m) => m.name)).toContain('nodejs_eventloop_lag_p99_seconds');
    for (const { name, type } of types) {
      expect(name, name).toMatch(/^(turnover|process|nodejs)_[a-z0-9_]+$/);
      // `turnover_process_process_cpu_seconds_total` was one: a word repeated where prefixes join.
      expect(name, name).not.toMatch(/(^|_)(\w+)_\2_/);
      if (type === 'counter') expect(name, name).toMatch(/_total$/);
    }
  });

  it('times HTTP requests by route template and status class, one label per route whoever answered', async () => {
    const admin = apiClient(t, await createAdminToken(t, 'admin'));
    const id = randomUUID();
    expect((await admin.get(`/admin/users/${id}`)).status).toBe(404);
    // Answered by authentication, before the route: still the route's label.
    expect((await apiClient(t).get(`/admin/users/${randomUUID()}`)).status).toBe(401);
    expect((await apiClient(t).get('/admin/no-such-thing/at-all')).status).toBe(401);
    const text = await scrape();
    const routes = new Set([...text.matchAll(/^turnover_http_request_duration_seconds_count\{route="([^"]*)"/gm)].map((m) => m[1]));
    expect(routes).toContain('/admin/users/:id');
    expect([...routes].some((r) => r!.includes(id))).toBe(false);
    expect(text).toMatch(/^turnover_http_request_duration_seconds_count\{route="\/admin\/users\/:id",method="GET",status_class="4xx"\} [2-9]/m);
    expect(text).toMatch(/^turnover_http_request_duration_seconds_bucket\{le="0\.005",route="\/admin\/users\/:id",method="GET",status_class="4xx"\}/m);
    expect(text).toMatch(/^turnover_http_requests_total\{route="\/admin\/users\/:id",method="GET",status="401"\} 1$/m);
    // A path no route has: one bounded label, not the path.
    expect(text).toMatch(/^turnover_http_requests_total\{route="unmatched",method="GET",status="401"\} 1$/m);
  });

  it('reports each readiness check and the oldest due task per queue and state', async () => {
    const text = await scrape();
    expect(text).toMatch(/^turnover_readiness_check_ok\{check="database"\} 1$/m);
    expect(text).toMatch(/^turnover_queue_oldest_waiting_seconds\{queue="lifecycle",state="pending"\} /m);
    expect(text).toMatch(/^turnover_queue_oldest_waiting_seconds\{queue="mail",state="enqueued"\} /m);
  });

  it('serves the queue dashboard without links outside turnover (no Google Fonts)', async () => {
    const admin = apiClient(t, await createAdminToken(t, 'admin'));
    const page = await admin.get('/admin/queues');
    expect(page.status).toBe(200);
    expect(page.text).toContain('<div id="root">');
    expect(page.text).not.toMatch(/https?:\/\/(?!127\.0\.0\.1|localhost)/);
  });
});
