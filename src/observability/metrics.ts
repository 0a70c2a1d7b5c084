import { getHeapStatistics } from 'node:v8';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * vigil's Prometheus metrics on a private registry (never the global one, so tests and embedders
 * can create several). Names follow Prometheus conventions: `vigil_` prefix, `_total` counters,
 * base units (seconds, bytes).
 */
export class IngestMetrics {
  readonly registry: Registry;
  readonly eventsConsumed: Counter<'topic'>;
  readonly eventsHandled: Counter<'topic'>;
  readonly eventsDuplicate: Counter<'topic'>;
  readonly eventsDeadLettered: Counter<'topic' | 'reason'>;
  readonly batchDuration: Histogram<'topic'>;
  readonly batchStage: Histogram<'topic' | 'stage'>;
  readonly batchRetries: Counter<'topic' | 'error'>;
  readonly consumerCrashes: Counter<'restart'>;
  readonly watchdogRestarts: Counter;
  readonly lastBatchTimestamp: Gauge;
  readonly eventTimeLag: Gauge<'topic'>;
  readonly findings: Counter<'kind' | 'severity' | 'shadow'>;
  readonly breakerTransitions: Counter<'scope' | 'from' | 'to' | 'cause'>;
  readonly sideEffectFailures: Counter<'effect'>;
  readonly breakerCheckDegraded: Counter<'scope_type' | 'answer' | 'reason'>;

  constructor(opts: { registry?: Registry; defaultMetrics?: boolean } = {}) {
    this.registry = opts.registry ?? new Registry();
    if (opts.defaultMetrics) {
      collectDefaultMetrics({ register: this.registry, prefix: 'vigil_' });
      // Gauges named like counters (promtool check metrics refuses them); vigil_nodejs_active_handles etc. say the same by type.
      for (const n of ['vigil_nodejs_active_handles_total', 'vigil_nodejs_active_requests_total', 'vigil_nodejs_active_resources_total']) this.registry.removeSingleMetric(n);
      // the heap's limit beside vigil_nodejs_heap_size_used_bytes: resident detector state grows toward it (VigilHeapNearLimit)
      new Gauge({ name: 'vigil_heap_limit_bytes', help: "V8's heap size limit (--max-old-space-size): past it the process dies out of memory.", registers: [this.registry] }).set(getHeapStatistics().heap_size_limit);
    }
    const r = [this.registry];
    this.eventsConsumed = new Counter({ name: 'vigil_events_consumed_total', help: 'Kafka messages read from the input topic.', labelNames: ['topic'], registers: r });
    this.eventsHandled = new Counter({ name: 'vigil_events_handled_total', help: 'Valid, new events handed to the detectors.', labelNames: ['topic'], registers: r });
    this.eventsDuplicate = new Counter({ name: 'vigil_events_duplicate_total', help: 'Events skipped because their eventId was already handled (redeliveries).', labelNames: ['topic'], registers: r });
    this.eventsDeadLettered = new Counter({ name: 'vigil_events_dead_lettered_total', help: 'Bad events sent to the dead-letter topic, by reason.', labelNames: ['topic', 'reason'], registers: r });
    this.batchDuration = new Histogram({
      name: 'vigil_batch_duration_seconds',
      help: 'Time from receiving a Kafka batch to committing its offsets.',
      labelNames: ['topic'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: r,
    });
    this.batchStage = new Histogram({
      name: 'vigil_batch_stage_seconds',
      help: 'Where a Kafka batch spent its time, by stage: decode (and validate), dedupe (the eventId check), wait (behind other partitions\' batches for the detectors, which run one batch at a time), handle (the detectors\' pass: state, findings, breakers), dead_letter, mark (eventIds marked handled), commit (the offsets).',
      labelNames: ['topic', 'stage'],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: r,
    });
    this.batchRetries = new Counter({ name: 'vigil_batch_retries_total', help: 'Batches retried after a retriable error (Redis, registry or broker down).', labelNames: ['topic', 'error'], registers: r });
    this.consumerCrashes = new Counter({ name: 'vigil_consumer_crashes_total', help: 'kafkajs consumer CRASH events, by whether kafkajs restarts by itself.', labelNames: ['restart'], registers: r });
    this.watchdogRestarts = new Counter({ name: 'vigil_watchdog_restarts_total', help: 'Consumer restarts by the stall watchdog.', registers: r });
    this.lastBatchTimestamp = new Gauge({ name: 'vigil_last_batch_timestamp_seconds', help: 'Wall-clock time of the last committed batch.', registers: r });
    this.findings = new Counter({ name: 'vigil_findings_total', help: 'Findings raised, by anomaly kind, severity and whether the rule runs in shadow mode.', labelNames: ['kind', 'severity', 'shadow'], registers: r });
    this.breakerTransitions = new Counter({ name: 'vigil_breaker_transitions_total', help: 'Circuit-breaker state changes seen by this instance (its own, and the ones upstream clients made, forwarded from pub/sub), by scope type, previous and new state, and cause.', labelNames: ['scope', 'from', 'to', 'cause'], registers: r });
    this.sideEffectFailures = new Counter({ name: 'vigil_side_effect_failures_total', help: 'Side effects (publish, trip, notify) that failed and were retried with their batch.', labelNames: ['effect'], registers: r });
    this.breakerCheckDegraded = new Counter({
      name: 'vigil_breaker_check_degraded_total',
      help: 'Breaker checks of the HTTP API answered by the fail mode because Redis could not be asked: by the scope whose fail mode denied (none when allowed), the answer, and why (timeout, redis_error).',
      labelNames: ['scope_type', 'answer', 'reason'],
      registers: r,
    });
    this.eventTimeLag = new Gauge({ name: 'vigil_event_time_lag_seconds', help: 'Wall clock minus the newest occurredAt handled: how far behind real time the monitor is.', labelNames: ['topic'], registers: r });
  }
}
