import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { registry } from '../../src/metrics.ts';
import { ROOT } from '../support/cli.ts';

/**
 * deploy/grafana/turnover.json and deploy/prometheus/alerts.yml are only worth shipping if every
 * query names a metric that /metrics exposes: a renamed metric must fail here, not on a dashboard.
 */
const dashboard = JSON.parse(fs.readFileSync(path.join(ROOT, 'deploy/grafana/turnover.json'), 'utf8'));
const alertsFile = path.join(ROOT, 'deploy/prometheus/alerts.yml');
const alerts = parse(fs.readFileSync(alertsFile, 'utf8'));

/** Every sample name /metrics can show: histograms and summaries as their series. */
async function exposedNames(): Promise<Set<string>> {
  const names = new Set<string>();
  for (const metric of await registry.getMetricsAsJSON()) {
    names.add(metric.name);
    if (String(metric.type) === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) names.add(metric.name + suffix);
    if (String(metric.type) === 'summary') for (const suffix of ['_sum', '_count']) names.add(metric.name + suffix);
  }
  return names;
}

const KEYWORDS = new Set(['and', 'or', 'unless', 'by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'offset', 'inf', 'nan']);

/** The metric names a PromQL expression reads: what is left once labels, strings, ranges, groupings and functions are gone. */
export function metricNames(expr: string): string[] {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  const names = new Set<string>();
  for (const match of bare.matchAll(/[A-Za-z_:][A-Za-z0-9_:]*/g)) {
    const after = bare.slice(match.index! + match[0].length).trimStart();
    if (after.startsWith('(') || KEYWORDS.has(match[0].toLowerCase())) continue;
    // `5m`-style durations and `1e3` numbers are not names; `$labels` is template text.
    if (/^\d/.test(match[0]) || bare[match.index! - 1] === '$') continue;
    names.add(match[0]);
  }
  return [...names];
}

describe('metricNames (the check below is only as good as this)', () => {
  it('finds the metrics and nothing else', () => {
    expect(metricNames('histogram_quantile(0.95, sum by (le, route) (rate(turnover_http_request_duration_seconds_bucket{route!~"/x"}[5m])))')).toEqual([
      'turnover_http_request_duration_seconds_bucket',
    ]);
    expect(metricNames('sum(rate(a_total{x="y"}[5m])) / sum(rate(b_total[5m])) > 0.1 and on (idp) c == 0').sort()).toEqual(['a_total', 'b_total', 'c']);
  });
});

describe('deploy/grafana/turnover.json', () => {
  const panels = dashboard.panels as Array<{ id: number; title: string; targets: Array<{ expr: string }>; datasource: { uid: string } }>;

  it('has panels for SCIM by IdP, queue depth and age, task outcomes, guard holds, readiness and HTTP latency', () => {
    const exprs = panels.flatMap((p) => p.targets.map((t) => t.expr)).join('\n');
    for (const metric of [
      'turnover_scim_operations_total',
      'turnover_queue_depth',
      'turnover_queue_oldest_waiting_seconds',
      'turnover_tasks_finished_total',
      'turnover_deprovision_guard_held_total',
      'turnover_readiness_check_ok',
      'turnover_http_request_duration_seconds_bucket',
    ]) {
      expect(exprs).toContain(metric);
    }
    expect(exprs).toMatch(/by \(idp/);
  });

  it('queries only metrics that /metrics exposes', async () => {
    const exposed = await exposedNames();
    for (const panel of panels) {
      for (const target of panel.targets) {
        for (const name of metricNames(target.expr)) expect(exposed.has(name), `${panel.title}: ${name}`).toBe(true);
      }
    }
  });

  it('is an importable dashboard: unique panel ids, a Prometheus datasource variable for every panel', () => {
    expect(new Set(panels.map((p) => p.id)).size).toBe(panels.length);
    expect(dashboard.templating.list).toContainEqual(expect.objectContaining({ name: 'datasource', type: 'datasource', query: 'prometheus' }));
    for (const panel of panels) expect(panel.datasource.uid, panel.title).toBe('${datasource}');
  });
});

describe('deploy/prometheus/alerts.yml', () => {
  const rules = (alerts.groups as Array<{ name: string; rules: Array<Record<string, any>> }>).flatMap((g) => g.rules);

  it('is a Prometheus rule file (promtool when installed, else its schema)', () => {
    const promtool = spawnSync('promtool', ['check', 'rules', alertsFile], { encoding: 'utf8' });
    if (promtool.error === undefined) {
      expect(promtool.status, promtool.stdout + promtool.stderr).toBe(0);
      return;
    }
    console.warn('deploy-files: promtool is not installed, checking the rule file against its schema only');
    expect(Array.isArray(alerts.groups) && alerts.groups.length > 0).toBe(true);
    for (const group of alerts.groups) expect(typeof group.name).toBe('string');
    for (const rule of rules) {
      expect(Object.keys(rule).every((k) => ['alert', 'expr', 'for', 'keep_firing_for', 'labels', 'annotations'].includes(k)), rule.alert).toBe(true);
      expect(rule.alert).toMatch(/^[A-Za-z_][A-Za-z0-9_]*$/);
      expect(typeof rule.expr).toBe('string');
      expect(rule.for ?? '0m').toMatch(/^(\d+(ms|s|m|h|d|w|y))+$/);
      expect(['critical', 'warning', 'info']).toContain(rule.labels?.severity);
      expect(typeof rule.annotations?.summary).toBe('string');
      // Balanced brackets: the commonest way to break an expression by hand.
      for (const [open, close] of ['()', '{}', '[]']) expect(rule.expr.split(open!).length, `${rule.alert} ${open}${close}`).toBe(rule.expr.split(close!).length);
    }
  });

  it('alerts on stuck queues, failing tasks, guard holds, SCIM errors and readiness, with metrics /metrics exposes', async () => {
    const exposed = await exposedNames();
    const read = rules.flatMap((rule) => metricNames(rule.expr).map((name) => [rule.alert as string, name] as const));
    for (const [alert, name] of read) expect(exposed.has(name), `${alert}: ${name}`).toBe(true);
    const names = new Set(read.map(([, name]) => name));
    for (const metric of ['turnover_queue_oldest_waiting_seconds', 'turnover_tasks_finished_total', 'turnover_deprovision_guard_held_total', 'turnover_scim_operations_total', 'turnover_readiness_check_ok']) {
      expect(names.has(metric), metric).toBe(true);
    }
  });
});
