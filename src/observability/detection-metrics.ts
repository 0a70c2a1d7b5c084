import { Counter, Histogram, type Registry } from 'prom-client';
import { COMPENSATION_KINDS, EVENT_TYPES, RISK_TIERS } from '../../processors/core/events.ts';
import type { BatchCounts } from './batch-counts.ts';

/** Where a detection latency is measured from. */
export type LatencyOrigin = 'event_time' | 'kafka_timestamp';

/**
 * Metrics of what the event stream holds and how fast findings follow it: the counts behind the safety
 * KPIs (batch-counts.ts) and the end-to-end detection latency. Every label is a bounded enumeration of
 * the event contract (types, risk tiers, compensation kinds): no user, agent or vendor ever becomes a label.
 */
export class DetectionMetrics {
  /** Handled events (valid, new) by event type. */
  readonly eventsByType: Counter<'type'>;
  /** First-attempt action.requested, by risk tier and whether the action changes state. */
  readonly actions: Counter<'risk_tier' | 'state_changing'>;
  /** action.succeeded of state-changing actions, by risk tier. */
  readonly transactions: Counter<'risk_tier'>;
  /** compensation.succeeded, by compensation kind. */
  readonly reversals: Counter<'kind'>;
  /** Wall clock at a finding's publication minus its event time, or minus its Kafka message timestamp. */
  readonly detectionLatency: Histogram<'from'>;

  constructor(registry: Registry) {
    const r = [registry];
    this.eventsByType = new Counter({ name: 'vigil_events_by_type_total', help: 'Valid, new events handed to the detectors, by event type.', labelNames: ['type'], registers: r });
    this.actions = new Counter({
      name: 'vigil_actions_total',
      help: 'Actions requested (first attempts of action.requested), by risk tier and whether they change state: the denominator of the safety KPIs.',
      labelNames: ['risk_tier', 'state_changing'],
      registers: r,
    });
    this.transactions = new Counter({ name: 'vigil_transactions_total', help: 'State-changing actions that succeeded (action.succeeded), by risk tier.', labelNames: ['risk_tier'], registers: r });
    this.reversals = new Counter({ name: 'vigil_reversals_total', help: 'Transactions reversed (compensation.succeeded), by compensation kind.', labelNames: ['kind'], registers: r });
    this.detectionLatency = new Histogram({
      name: 'vigil_detection_latency_seconds',
      help: 'End-to-end detection latency: wall clock when a finding is published minus the event time that completed its evidence (from="event_time", includes the allowed lateness for absence rules) or minus the Kafka timestamp of the message that raised it (from="kafka_timestamp").',
      labelNames: ['from'],
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600],
      registers: r,
    });
  }

  /** Creates every series at zero, so that rate() and increase() see the first event of each. */
  initZero(): void {
    for (const t of EVENT_TYPES) this.eventsByType.inc({ type: t }, 0);
    for (const risk of RISK_TIERS) {
      this.actions.inc({ risk_tier: risk, state_changing: 'true' }, 0);
      this.actions.inc({ risk_tier: risk, state_changing: 'false' }, 0);
      this.transactions.inc({ risk_tier: risk }, 0);
    }
    for (const k of COMPENSATION_KINDS) this.reversals.inc({ kind: k }, 0);
  }

  /** Adds one batch's counts (one inc per non-zero count). */
  record(c: BatchCounts): void {
    for (const t of EVENT_TYPES) if (c.byType[t] > 0) this.eventsByType.inc({ type: t }, c.byType[t]);
    for (const risk of RISK_TIERS) {
      const a = c.actions[risk];
      if (a.stateChanging > 0) this.actions.inc({ risk_tier: risk, state_changing: 'true' }, a.stateChanging);
      if (a.readOnly > 0) this.actions.inc({ risk_tier: risk, state_changing: 'false' }, a.readOnly);
      if (c.transactions[risk] > 0) this.transactions.inc({ risk_tier: risk }, c.transactions[risk]);
    }
    for (const k of COMPENSATION_KINDS) if (c.reversals[k] > 0) this.reversals.inc({ kind: k }, c.reversals[k]);
  }
}
