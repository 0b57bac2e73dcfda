import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * The one Prometheus registry of the process, served at /metrics. Every metric turnover exports
 * is declared here, so their names and labels are in one place.
 */
export const registry = new Registry();
// Unprefixed: process_* and nodejs_* are the names every Node.js dashboard and alert expects.
collectDefaultMetrics({ register: registry });

export const httpRequests = new Counter({
  name: 'turnover_http_requests_total',
  help: 'HTTP requests by route group, route and status code.',
  labelNames: ['route', 'method', 'status'] as const,
  registers: [registry],
});

export const httpRequestDuration = new Histogram({
  name: 'turnover_http_request_duration_seconds',
  help: 'HTTP request latency by route template, method and status class (2xx, 4xx, ...).',
  labelNames: ['route', 'method', 'status_class'] as const,
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  registers: [registry],
});

export const scimOperations = new Counter({
  name: 'turnover_scim_operations_total',
  help: 'SCIM operations by IdP connection (the SCIM token id), resource type, operation (create, replace, patch, delete, get, list) and outcome.',
  labelNames: ['idp', 'resource', 'operation', 'outcome'] as const,
  registers: [registry],
});

export const tasksFinished = new Counter({
  name: 'turnover_tasks_finished_total',
  help: 'Tasks by type and the state they ended an attempt in.',
  labelNames: ['type', 'state'] as const,
  registers: [registry],
});

export const taskDuration = new Histogram({
  name: 'turnover_task_duration_seconds',
  help: 'Time one task attempt took to run, by type.',
  labelNames: ['type'] as const,
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
  registers: [registry],
});

export const taskBatchSize = new Histogram({
  name: 'turnover_task_batch_size',
  help: 'Lifecycle tasks committed together in one transaction (group commit); 1 when load is low.',
  buckets: [1, 2, 4, 8, 16, 32, 64],
  registers: [registry],
});

export const queueDepth = new Gauge({
  name: 'turnover_queue_depth',
  help: 'Jobs per queue and BullMQ state, read at scrape time.',
  labelNames: ['queue', 'state'] as const,
  registers: [registry],
});

export const oldestWaitingSeconds = new Gauge({
  name: 'turnover_queue_oldest_waiting_seconds',
  help: 'Age of the oldest due task per queue and state: pending (not yet handed to the queue: the relay) or enqueued (in the queue: the workers), read at scrape time.',
  labelNames: ['queue', 'state'] as const,
  registers: [registry],
});

export const readinessCheckOk = new Gauge({
  name: 'turnover_readiness_check_ok',
  help: 'Whether each readiness check (database, queue backend) answered at the last /readyz or scrape: 1 ok, 0 failed.',
  labelNames: ['check'] as const,
  registers: [registry],
});

export const deprovisionGuardTrips = new Counter({
  name: 'turnover_deprovision_guard_held_total',
  help: 'IdP-driven deprovisioning tasks held for approval by the mass-deprovision guard.',
  registers: [registry],
});

export const provisioningLogWritten = new Counter({
  name: 'turnover_provisioning_log_entries_written_total',
  help: 'SCIM requests written to the provisioning log.',
  registers: [registry],
});

export const provisioningLogDropped = new Counter({
  name: 'turnover_provisioning_log_entries_dropped_total',
  help: 'SCIM requests left out of the provisioning log: buffer full (overflow), refused by the database (write_failed), or after shutdown (closed).',
  labelNames: ['reason'] as const,
  registers: [registry],
});
