import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/**
 * Metrics of what vigil does about a finding: compensations (sagas) and notifications (e-mail,
 * Alertmanager). Label values are bounded sets (kinds, outcomes, channels), never ids.
 * Defined ahead of their producers so dashboards and alert rules can name them; every series is
 * zero until the compensation and notification modules count into it.
 */
export class ResponseMetrics {
  /** Compensation commands by compensation kind (cancel, refund, void_auth, release_hold) and outcome. */
  readonly compensations: Counter<'kind' | 'outcome'>;
  /** Time to compensate: finding detected → compensation.succeeded (event time of the success). */
  readonly timeToCompensate: Histogram<'kind'>;
  /** Sagas not yet settled (requested, awaiting an outcome), read at scrape time. */
  readonly compensationsInFlight: Gauge;
  /** Notifications by channel (email, alertmanager) and outcome (sent, failed, grouped, queued, retried). */
  readonly notifications: Counter<'channel' | 'outcome'>;
  /** Messages waiting in the notification outbox, by channel. */
  readonly outboxDepth: Gauge<'channel'>;

  /**
   * The response metrics of a registry: the ones already registered on it (another module created
   * them first), else new ones. Lets several wirings share one registry without a duplicate registration.
   */
  static on(registry: Registry): ResponseMetrics {
    const existing = registry.getSingleMetric('vigil_compensations_total');
    if (existing === undefined) return new ResponseMetrics(registry);
    const m = Object.create(ResponseMetrics.prototype) as { -readonly [K in keyof ResponseMetrics]: ResponseMetrics[K] };
    m.compensations = existing as Counter<'kind' | 'outcome'>;
    m.timeToCompensate = registry.getSingleMetric('vigil_time_to_compensate_seconds') as Histogram<'kind'>;
    m.compensationsInFlight = registry.getSingleMetric('vigil_compensations_in_flight') as Gauge;
    m.notifications = registry.getSingleMetric('vigil_notifications_total') as Counter<'channel' | 'outcome'>;
    m.outboxDepth = registry.getSingleMetric('vigil_notification_outbox_depth') as Gauge<'channel'>;
    return m as ResponseMetrics;
  }

  constructor(registry: Registry) {
    const r = [registry];
    this.compensations = new Counter({
      name: 'vigil_compensations_total',
      help: 'Compensation commands, by compensation kind and outcome (requested, resent, succeeded, failed, timed_out, escalated).',
      labelNames: ['kind', 'outcome'],
      registers: r,
    });
    this.timeToCompensate = new Histogram({
      name: 'vigil_time_to_compensate_seconds',
      help: 'Time to compensate (MTTC): from a finding to the compensation.succeeded that undid its action.',
      labelNames: ['kind'],
      buckets: [1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600],
      registers: r,
    });
    this.compensationsInFlight = new Gauge({ name: 'vigil_compensations_in_flight', help: 'Compensations requested and not yet settled.', registers: r });
    this.notifications = new Counter({
      name: 'vigil_notifications_total',
      help: 'On-call notifications, by channel (email, alertmanager) and outcome (sent, failed, grouped, queued, retried).',
      labelNames: ['channel', 'outcome'],
      registers: r,
    });
    this.outboxDepth = new Gauge({ name: 'vigil_notification_outbox_depth', help: 'Notifications waiting in the outbox, by channel.', labelNames: ['channel'], registers: r });
  }
}
