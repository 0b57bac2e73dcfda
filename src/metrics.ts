import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * The one Prometheus registry of the process, served at /metrics. Every metric turnover exports
 * is declared here, so their names and labels are in one place.
 */
export const registry = new Registry();
collectDefaultMetrics({ register: registry, prefix: 'turnover_process_' });

export const httpRequests = new Counter({
  name: 'turnover_http_requests_total',
  help: 'HTTP requests by route group, route and status code.',
  labelNames: ['route', 'method', 'status'] as const,
  registers: [registry],
});

export const scimOperations = new Counter({
  name: 'turnover_scim_operations_total',
  help: 'SCIM operations by resource type and operation (create, replace, patch, delete, get, list).',
  labelNames: ['resource', 'operation', 'outcome'] as const,
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
  help: 'Age of the oldest task waiting to run per queue (pending or enqueued, due), read at scrape time.',
  labelNames: ['queue'] as const,
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
