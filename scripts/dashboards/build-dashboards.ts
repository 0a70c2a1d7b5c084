/**
 * Writes vigil's Grafana dashboards to dashboards/*.json (what Grafana provisions; see
 * dashboards/provisioning/). Edit the panels here, then run:
 *
 *   node scripts/dashboards/build-dashboards.ts
 *
 * test/observability/dashboards.test.ts checks that the files match this script's output, that each
 * validates against Grafana's dashboard schema, and that every query reads only series vigil exports or
 * its recording rules (alerts/vigil.rules.yml) define.
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dashboard, Layout } from './panels.ts';

const R = '$__rate_interval';
const GREEN = 'green';

function safetyOverview(): Record<string, unknown> {
  const l = new Layout();
  l.row('Safety KPIs (last hour)');
  l.stat({
    title: 'Unintended transactions / 10k actions',
    description: 'Findings of duplicate, unconfirmed, mismatched, out-of-scope, after-revoked-consent, runaway and key-reuse actions per 10,000 first-attempt actions (1 h).',
    queries: [{ expr: 'vigil:unintended_transactions_per_10k_actions:ratio_rate1h' }],
    thresholds: [{ color: GREEN, value: null }, { color: 'orange', value: 1 }, { color: 'red', value: 10 }],
  });
  l.stat({
    title: 'MTTC (p90)',
    description: 'Time to compensate: from a finding to the compensation that undid its action, 90th percentile over 1 h.',
    queries: [{ expr: 'vigil:mttc_seconds:p90_1h' }],
    unit: 's',
    thresholds: [{ color: GREEN, value: null }, { color: 'red', value: 300 }],
  });
  l.stat({
    title: 'High-risk actions with a passed step-up',
    queries: [{ expr: 'vigil:step_up_coverage:ratio_rate1h' }],
    unit: 'percentunit',
    min: 0,
    max: 1,
    thresholds: [{ color: 'red', value: null }, { color: 'orange', value: 0.95 }, { color: GREEN, value: 0.999 }],
  });
  l.stat({
    title: 'Audit completeness',
    description: 'Share of actions with intent, confirmation where required, and outcome.',
    queries: [{ expr: 'vigil:audit_completeness:ratio_rate1h' }],
    unit: 'percentunit',
    min: 0,
    max: 1,
    thresholds: [{ color: 'red', value: null }, { color: 'orange', value: 0.99 }, { color: GREEN, value: 0.999 }],
  });
  l.stat({
    title: 'Reversal rate',
    description: 'Transactions reversed (compensation.succeeded) per state-changing action that succeeded (1 h).',
    queries: [{ expr: 'vigil:reversal_rate:ratio_rate1h' }],
    unit: 'percentunit',
    thresholds: [{ color: GREEN, value: null }, { color: 'orange', value: 0.01 }, { color: 'red', value: 0.05 }],
  });
  l.stat({
    title: 'Findings / 10k actions',
    queries: [{ expr: 'vigil:findings_per_10k_actions:ratio_rate1h' }],
    thresholds: [{ color: GREEN, value: null }, { color: 'orange', value: 10 }, { color: 'red', value: 100 }],
  });
  l.timeseries({
    title: 'Unintended transactions and findings per 10k actions',
    queries: [
      { expr: 'vigil:unintended_transactions_per_10k_actions:ratio_rate1h', legend: 'unintended transactions' },
      { expr: 'vigil:findings_per_10k_actions:ratio_rate1h', legend: 'all findings' },
    ],
  });
  l.timeseries({
    title: 'Step-up coverage, audit completeness, reversal rate',
    queries: [
      { expr: 'vigil:step_up_coverage:ratio_rate1h', legend: 'step-up coverage' },
      { expr: 'vigil:audit_completeness:ratio_rate1h', legend: 'audit completeness' },
      { expr: 'vigil:reversal_rate:ratio_rate1h', legend: 'reversal rate' },
    ],
    unit: 'percentunit',
  });

  l.row('Findings');
  l.timeseries({
    title: 'Findings by kind',
    queries: [{ expr: `sum by (kind) (increase(vigil_findings_total{shadow="false"}[${R}]))`, legend: '{{kind}}' }],
    stack: true,
  });
  l.timeseries({
    title: 'Findings by severity (shadow rules apart)',
    queries: [
      { expr: `sum by (severity) (increase(vigil_findings_total{shadow="false"}[${R}]))`, legend: '{{severity}}' },
      { expr: `sum(increase(vigil_findings_total{shadow="true"}[${R}]))`, legend: 'shadow (not acted on)' },
    ],
    stack: true,
  });
  l.timeseries({
    title: 'Actions by risk tier',
    queries: [{ expr: `sum by (risk_tier, state_changing) (rate(vigil_actions_total[${R}]))`, legend: '{{risk_tier}} (state-changing: {{state_changing}})' }],
    unit: 'ops',
  });
  l.barGauge({
    title: 'Breakers not closed, by scope type',
    queries: [{ expr: 'vigil:breakers_not_closed:count', legend: '{{scope}}', instant: true }],
    thresholds: [{ color: GREEN, value: null }, { color: 'red', value: 1 }],
  });

  l.row('Compensations and notifications');
  l.timeseries({
    title: 'Compensations by outcome',
    queries: [{ expr: `sum by (outcome) (increase(vigil_compensations_total[${R}]))`, legend: '{{outcome}}' }],
    stack: true,
  });
  l.timeseries({
    title: 'Time to compensate',
    queries: [
      { expr: 'vigil:mttc_seconds:mean1h', legend: 'mean (1 h)' },
      { expr: 'vigil:mttc_seconds:p90_1h', legend: 'p90 (1 h)' },
    ],
    unit: 's',
  });
  l.timeseries({
    title: 'Compensations in flight and transactions reversed',
    queries: [
      { expr: 'sum(vigil_compensations_in_flight)', legend: 'in flight' },
      { expr: `sum by (kind) (increase(vigil_reversals_total[${R}]))`, legend: 'reversed: {{kind}}' },
    ],
  });
  l.timeseries({
    title: 'Notifications by channel and outcome',
    queries: [
      { expr: `sum by (channel, outcome) (increase(vigil_notifications_total[${R}]))`, legend: '{{channel}} {{outcome}}' },
      { expr: 'sum by (channel) (vigil_notification_outbox_depth)', legend: 'outbox: {{channel}}' },
    ],
  });
  return dashboard({
    uid: 'vigil-safety',
    title: 'vigil / Agent safety overview',
    description: 'The safety KPIs of agents acting in the real world, findings by kind, open breakers and compensations.',
    tags: ['vigil', 'safety'],
    layout: l,
  });
}

const STATE_MAPPINGS = [
  {
    type: 'value',
    options: {
      '1': { text: 'open', color: 'red', index: 0 },
      '2': { text: 'half_open', color: 'orange', index: 1 },
      '3': { text: 'forced_open', color: 'purple', index: 2 },
      '4': { text: 'forced_closed', color: 'blue', index: 3 },
    },
  },
];

function breakers(): Record<string, unknown> {
  const l = new Layout();
  l.row('Now');
  l.stat({
    title: 'Breakers not closed',
    queries: [{ expr: 'sum(vigil:breakers_not_closed:count)' }],
    thresholds: [{ color: GREEN, value: null }, { color: 'red', value: 1 }],
  });
  l.barGauge({
    title: 'By scope type and state',
    queries: [{ expr: 'max by (scope, state) (vigil_breakers{state!="closed"})', legend: '{{scope}} {{state}}', instant: true }],
    w: 10,
    h: 4,
  });
  l.barGauge({
    title: 'Longest in one open state, by scope type',
    queries: [{ expr: 'max by (scope) (vigil_breaker_longest_open_seconds)', legend: '{{scope}}', instant: true }],
    unit: 's',
    w: 10,
    h: 4,
    thresholds: [{ color: GREEN, value: null }, { color: 'orange', value: 1800 }, { color: 'red', value: 3600 }],
  });
  l.stateTimeline({
    title: 'State timeline (vendor, agent, action and global breakers not closed)',
    description: 'One row per breaker that is not closed (top N per scope type; users are counted, never listed). Empty: closed.',
    queries: [{ expr: 'max by (scope, id) (vigil_breaker_state)', legend: '{{scope}} {{id}}' }],
    mappings: STATE_MAPPINGS,
    thresholds: [{ color: 'red', value: null }],
  });

  l.row('Trips and reasons');
  l.table({
    title: 'Top tripped scopes (consecutive trips)',
    queries: [{ expr: 'topk(10, max by (scope, id) (vigil_breaker_trips))', legend: '{{scope}} {{id}}', instant: true }],
  });
  l.timeseries({
    title: 'Trips by reason (anomaly kind) and scope type',
    queries: [{ expr: `sum by (kind, scope) (increase(vigil_breaker_trips_total[${R}]))`, legend: '{{kind}} → {{scope}}' }],
    stack: true,
  });
  l.timeseries({
    title: 'Transitions by cause',
    queries: [{ expr: `sum by (cause) (increase(vigil_breaker_transitions_total[${R}]))`, legend: '{{cause}}' }],
    stack: true,
  });
  l.timeseries({
    title: 'Transitions by from → to',
    queries: [{ expr: `sum by (from, to) (increase(vigil_breaker_transitions_total[${R}]))`, legend: '{{from}} → {{to}}' }],
    stack: true,
  });
  l.timeseries({
    title: 'Most consecutive trips, by scope type',
    queries: [{ expr: 'max by (scope) (vigil_breaker_max_trips)', legend: '{{scope}}' }],
  });
  l.timeseries({
    title: 'Breaker reads (series omitted by the cap, truncated scans, scan time)',
    queries: [
      { expr: 'max by (scope) (vigil_breaker_series_omitted)', legend: 'omitted: {{scope}}' },
      { expr: 'max(vigil_breaker_scan_truncated)', legend: 'scan truncated' },
      { expr: 'max(vigil_breaker_scan_duration_seconds)', legend: 'scan seconds' },
    ],
  });
  return dashboard({
    uid: 'vigil-breakers',
    title: 'vigil / Breakers',
    description: 'Circuit breakers that upstream services check: state timeline, top tripped scopes and why they tripped.',
    tags: ['vigil', 'breakers'],
    layout: l,
  });
}

function pipelineHealth(): Record<string, unknown> {
  const l = new Layout();
  l.row('Throughput and lag');
  l.timeseries({
    title: 'Events consumed, handled, duplicate',
    queries: [
      { expr: `sum by (topic) (rate(vigil_events_consumed_total[${R}]))`, legend: 'consumed {{topic}}' },
      { expr: `sum by (topic) (rate(vigil_events_handled_total[${R}]))`, legend: 'handled {{topic}}' },
      { expr: `sum by (topic) (rate(vigil_events_duplicate_total[${R}]))`, legend: 'duplicate {{topic}}' },
    ],
    unit: 'ops',
  });
  l.timeseries({
    title: 'Events by type',
    queries: [{ expr: `sum by (type) (rate(vigil_events_by_type_total[${R}]))`, legend: '{{type}}' }],
    unit: 'ops',
    stack: true,
  });
  l.timeseries({
    title: 'Consumer lag per partition',
    queries: [
      { expr: 'max by (topic, partition) (vigil_consumer_lag_messages)', legend: '{{topic}}/{{partition}}' },
      { expr: 'vigil:consumer_lag_messages:sum', legend: 'total {{topic}}' },
    ],
  });
  l.timeseries({
    title: 'Event time behind',
    description: 'Wall clock minus the newest event time handled, and the watermark behind the newest event time.',
    queries: [
      { expr: 'max by (topic) (vigil_event_time_lag_seconds)', legend: 'newest event behind wall clock {{topic}}' },
      { expr: 'max by (topic) (vigil_watermark_behind_newest_seconds)', legend: 'watermark behind newest event {{topic}}' },
    ],
    unit: 's',
  });

  l.row('Latency');
  l.timeseries({
    title: 'End-to-end detection latency',
    description: 'Finding published minus the event time that completed it (absence rules wait for the lateness), and minus the Kafka timestamp of the message that raised it.',
    queries: [
      { expr: 'vigil:detection_latency_seconds:p99_5m', legend: 'p99 from {{from}}' },
      { expr: `histogram_quantile(0.5, sum by (le, from) (rate(vigil_detection_latency_seconds_bucket[${R}])))`, legend: 'p50 from {{from}}' },
    ],
    unit: 's',
  });
  l.timeseries({
    title: 'Batch duration and size',
    queries: [
      { expr: 'vigil:batch_duration_seconds:p99_5m', legend: 'duration p99 {{topic}}' },
      { expr: `histogram_quantile(0.5, sum by (le) (rate(vigil_batch_messages_bucket[${R}])))`, legend: 'messages p50' },
      { expr: `histogram_quantile(0.99, sum by (le) (rate(vigil_batch_messages_bucket[${R}])))`, legend: 'messages p99' },
    ],
  });

  l.timeseries({
    title: 'Where batch time goes',
    description: 'Mean seconds per batch in each stage (vigil_batch_stage_seconds): decode, dedupe, wait (behind other partitions\' batches: the detectors run one batch at a time), handle (the detectors\' pass), dead_letter, mark, commit. A growing wait means the detectors, not Kafka or Redis, are the bottleneck.',
    queries: [{ expr: `sum by (stage) (rate(vigil_batch_stage_seconds_sum[${R}])) / ignoring(stage) group_left sum(rate(vigil_batch_duration_seconds_count[${R}]))`, legend: '{{stage}}' }],
    unit: 's',
    stack: true,
  });

  l.row('Dead letters and errors');
  l.timeseries({
    title: 'Dead letters by reason',
    queries: [{ expr: `sum by (reason) (increase(vigil_events_dead_lettered_total[${R}]))`, legend: '{{reason}}' }],
    stack: true,
  });
  l.timeseries({
    title: 'Dead-letter ratio',
    queries: [{ expr: 'vigil:dead_letter_ratio:rate5m', legend: '{{topic}}' }],
    unit: 'percentunit',
  });
  l.timeseries({
    title: 'Errors and retries',
    queries: [
      { expr: `sum by (error) (increase(vigil_batch_retries_total[${R}]))`, legend: 'batch retry: {{error}}' },
      { expr: `sum by (kind) (increase(vigil_redis_errors_total[${R}]))`, legend: 'Redis: {{kind}}' },
      { expr: `sum by (effect) (increase(vigil_side_effect_failures_total[${R}]))`, legend: 'side effect: {{effect}}' },
      { expr: `sum(increase(vigil_consumer_crashes_total[${R}]))`, legend: 'consumer crashes' },
      { expr: `sum(increase(vigil_watchdog_restarts_total[${R}]))`, legend: 'watchdog restarts' },
      { expr: `sum(increase(vigil_consumer_lag_errors_total[${R}]))`, legend: 'lag read errors' },
    ],
  });
  l.timeseries({
    title: 'Up: monitor, dependencies; last batch age',
    queries: [
      { expr: 'up{job="vigil"}', legend: 'scrape up {{instance}}' },
      { expr: 'vigil_redis_up', legend: 'Redis up {{instance}}' },
      { expr: 'vigil_dependency_up', legend: '{{dependency}} up {{instance}}' },
      { expr: 'time() - max by (instance) (vigil_last_batch_timestamp_seconds)', legend: 'seconds since last batch {{instance}}' },
    ],
  });

  l.row('Process');
  l.timeseries({
    title: 'CPU and memory',
    queries: [
      { expr: `rate(vigil_process_cpu_seconds_total[${R}])`, legend: 'CPU cores {{instance}}' },
      { expr: 'vigil_process_resident_memory_bytes / 2^20', legend: 'RSS MiB {{instance}}' },
    ],
  });
  l.timeseries({
    title: 'Event loop lag (p99)',
    queries: [{ expr: 'vigil_nodejs_eventloop_lag_p99_seconds', legend: '{{instance}}' }],
    unit: 's',
  });
  return dashboard({
    uid: 'vigil-pipeline',
    title: 'vigil / Pipeline health',
    description: "vigil's own health: throughput, consumer lag, detection latency, dead letters and errors.",
    tags: ['vigil', 'pipeline'],
    layout: l,
  });
}

/** The dashboards by file name under dashboards/. */
export function buildDashboards(): Record<string, Record<string, unknown>> {
  return {
    'agent-safety-overview.json': safetyOverview(),
    'breakers.json': breakers(),
    'pipeline-health.json': pipelineHealth(),
  };
}

/** A dashboard's file text: 2-space JSON and a final newline. */
export function dashboardText(d: Record<string, unknown>): string {
  return JSON.stringify(d, null, 2) + '\n';
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const dir = fileURLToPath(new URL('../../dashboards/', import.meta.url));
  for (const [file, d] of Object.entries(buildDashboards())) {
    writeFileSync(dir + file, dashboardText(d));
    process.stdout.write(`wrote dashboards/${file}\n`);
  }
}
