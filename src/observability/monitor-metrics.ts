import { Counter, type Registry } from 'prom-client';
import { COMPENSATION_KINDS } from '../../processors/core/events.ts';
import { ANOMALY_KINDS, SEVERITIES } from '../../processors/core/finding.ts';
import type { BreakerTransition } from '../breakers/transition.ts';
import type { IngestMetrics } from './metrics.ts';
import { DetectionMetrics } from './detection-metrics.ts';
import { PipelineMetrics } from './pipeline-metrics.ts';
import { ResponseMetrics } from './response-metrics.ts';
import { WatermarkMetrics } from './watermark-metrics.ts';

/** Every reason a message is dead-lettered with today (vigil-dlq-reason). */
export const DEAD_LETTER_REASONS = ['empty', 'oversized', 'undecodable', 'invalid_json', 'unknown_schema', 'avro_decode_failed', 'invalid_event', 'processing_failed', 'event_time_out_of_bounds'] as const;

/** Compensation outcomes of vigil_compensations_total (response-metrics.ts). */
export const COMPENSATION_OUTCOMES = ['requested', 'resent', 'succeeded', 'failed', 'timed_out', 'escalated'] as const;

/**
 * The monitor's metrics beyond IngestMetrics, on the same private registry: the stream's safety-KPI
 * counts and detection latency, the pipeline's batch sizes, lag and Redis errors, breaker trips by
 * reason, and the metric definitions agreed for the watermark and for compensations and notifications.
 * (Breaker state read at scrape time is breaker-state-collector.ts.) Every label is a bounded set.
 */
export class MonitorMetrics {
  readonly registry: Registry;
  readonly detection: DetectionMetrics;
  readonly pipeline: PipelineMetrics;
  readonly watermark: WatermarkMetrics;
  readonly response: ResponseMetrics;
  /** Breaker trips by scope type and the anomaly kind of the finding that tripped it. */
  readonly breakerTrips: Counter<'scope' | 'kind'>;

  constructor(registry: Registry, opts: { redisReady?: () => boolean } = {}) {
    this.registry = registry;
    this.detection = new DetectionMetrics(registry);
    this.pipeline = new PipelineMetrics(registry, opts.redisReady);
    this.watermark = new WatermarkMetrics(registry);
    this.response = new ResponseMetrics(registry);
    this.breakerTrips = new Counter({
      name: 'vigil_breaker_trips_total',
      help: 'Breaker trips made by this instance, by scope type and the anomaly kind of the finding behind the trip.',
      labelNames: ['scope', 'kind'],
      registers: [registry],
    });
  }

  /** Counts one breaker transition (by scope type, from, to and cause; trips also by anomaly kind): never by id. */
  countTransition(ingest: IngestMetrics, t: BreakerTransition): void {
    ingest.breakerTransitions.inc({ scope: t.scope, from: t.from, to: t.to, cause: t.cause });
    if (t.cause === 'trip') this.breakerTrips.inc({ scope: t.scope, kind: t.reason?.kind || 'unknown' });
  }

  /**
   * Creates at zero the series that alerts look at with increase() or rate(), so the first finding,
   * dead letter or failed compensation shows as an increase and not as a series appearing at 1.
   */
  initZero(ingest: IngestMetrics, topic: string): void {
    this.detection.initZero();
    for (const reason of DEAD_LETTER_REASONS) ingest.eventsDeadLettered.inc({ topic, reason }, 0);
    ingest.eventsConsumed.inc({ topic }, 0);
    ingest.eventsHandled.inc({ topic }, 0);
    for (const kind of ANOMALY_KINDS) for (const severity of SEVERITIES) ingest.findings.inc({ kind, severity, shadow: 'false' }, 0);
    for (const kind of COMPENSATION_KINDS) for (const outcome of COMPENSATION_OUTCOMES) this.response.compensations.inc({ kind, outcome }, 0);
  }
}
