import { readFileSync } from 'node:fs';
import { parser } from '@prometheus-io/lezer-promql';
import { Registry } from 'prom-client';
import { parse as parseYaml } from 'yaml';
import type { RedisClient } from '../../src/redis/connection.ts';
import { KeyBuilder } from '../../src/redis/keys.ts';
import { BreakerStateCollector } from '../../src/observability/breaker-state-collector.ts';
import { IngestMetrics } from '../../src/observability/metrics.ts';
import { MonitorMetrics } from '../../src/observability/monitor-metrics.ts';
import { DependencyProbe } from '../../src/observability/dependency-probe.ts';
import { silentLogger } from '../../src/observability/logger.ts';
import { REPO_ROOT } from '../helpers/child-process.ts';

/** Series Prometheus itself adds for every scrape target (not vigil's, but always there). */
const PROMETHEUS_SERIES: Record<string, string[]> = {
  up: [],
  scrape_duration_seconds: [],
  scrape_samples_scraped: [],
  scrape_series_added: [],
  ALERTS: ['alertname', 'alertstate', 'severity'],
};

/** Every series name vigil's /metrics can show, with its labels, from the metric definitions in code. */
export function exportedSeries(): Map<string, string[]> {
  const registry = new Registry();
  const ingest = new IngestMetrics({ registry, defaultMetrics: true });
  new MonitorMetrics(registry);
  // Only the definitions are read: the collector never reaches Redis here.
  new BreakerStateCollector({ redis: {} as RedisClient, keys: new KeyBuilder('x'), registry, maxAgeMs: 0, scanLimit: 1, topN: 1 });
  new DependencyProbe({ checks: {}, registry, logger: silentLogger, intervalMs: 1000 });
  void ingest;
  const out = new Map<string, string[]>();
  for (const m of registry.getMetricsAsArray() as unknown as { name: string; labelNames?: string[]; constructor: { name: string } }[]) {
    const labels = [...(m.labelNames ?? [])];
    const type = m.constructor.name;
    if (type === 'Histogram') {
      out.set(`${m.name}_bucket`, [...labels, 'le']);
      out.set(`${m.name}_sum`, labels);
      out.set(`${m.name}_count`, labels);
    } else if (type === 'Summary') {
      out.set(m.name, [...labels, 'quantile']);
      out.set(`${m.name}_sum`, labels);
      out.set(`${m.name}_count`, labels);
    } else {
      out.set(m.name, labels);
    }
  }
  return out;
}

/** Names the shipped recording rules define (alerts/*.rules.yml). */
export function recordedSeries(): Set<string> {
  const doc = parseYaml(readFileSync(`${REPO_ROOT}alerts/vigil.rules.yml`, 'utf8')) as { groups: { rules: { record?: string }[] }[] };
  return new Set(doc.groups.flatMap((g) => g.rules.flatMap((r) => (r.record ? [r.record] : []))));
}

/** Grafana's variables, replaced by plain values so the expression is PromQL. */
export function withoutGrafanaVariables(expr: string): string {
  return expr
    .replaceAll('$__rate_interval', '5m')
    .replaceAll('$__interval', '1m')
    .replaceAll('$__range', '1h')
    .replace(/\$\{?[A-Za-z_][A-Za-z0-9_]*\}?/g, 'x');
}

/** The series an expression selects, with the label names its matchers use; throws on a syntax error. */
export function selectorsOf(expr: string): { name: string; labels: string[] }[] {
  const tree = parser.parse(expr);
  const out: { name: string; labels: string[] }[] = [];
  let error: string | undefined;
  tree.iterate({
    enter(n) {
      if (n.type.isError && error === undefined) error = `syntax error at ${n.from}: …${expr.slice(Math.max(0, n.from - 20), n.from + 20)}…`;
      if (n.type.name !== 'VectorSelector') return;
      const node = n.node;
      const id = node.getChild('Identifier');
      const labels: string[] = [];
      const matchers = node.getChild('LabelMatchers');
      if (matchers) {
        const c = matchers.cursor();
        c.iterate((m) => {
          if (m.type.name === 'LabelName') labels.push(expr.slice(m.from, m.to));
        });
      }
      out.push({ name: id ? expr.slice(id.from, id.to) : '', labels });
    },
  });
  if (error) throw new Error(`${error} in: ${expr}`);
  return out;
}

/** What is wrong with an expression's series (unknown names, labels a metric does not have), or []. */
export function seriesProblems(expr: string, exported: Map<string, string[]>, recorded: Set<string>): string[] {
  const problems: string[] = [];
  for (const s of selectorsOf(withoutGrafanaVariables(expr))) {
    if (s.name === '') {
      problems.push(`a selector without a metric name in: ${expr}`);
      continue;
    }
    const own = exported.get(s.name) ?? PROMETHEUS_SERIES[s.name];
    if (own === undefined && !recorded.has(s.name)) {
      problems.push(`${s.name} is neither exported by vigil nor recorded by alerts/vigil.rules.yml (in: ${expr})`);
      continue;
    }
    if (own === undefined) continue; // a recording rule: its labels are its expression's
    for (const l of s.labels) {
      if (!own.includes(l) && l !== 'job' && l !== 'instance' && l !== '__name__') problems.push(`${s.name} has no label "${l}" (in: ${expr})`);
    }
  }
  return problems;
}
