import { Counter, Gauge, type Registry } from 'prom-client';

/**
 * Metrics of event time: where the watermark is, why it waits, and what was refused for a hostile
 * clock. Partition labels are bounded by the input topic's partition count.
 */
export class WatermarkMetrics {
  /** Each input partition's watermark (event time, epoch seconds). */
  readonly partitionWatermark: Gauge<'topic' | 'partition'>;
  /** The watermark the detectors run by (the lowest of the active partitions), epoch seconds. */
  readonly watermark: Gauge<'topic'>;
  /** How far the watermark trails the newest event time seen (seconds). */
  readonly watermarkBehindNewest: Gauge<'topic'>;
  /** How far the watermark trails the wall clock (seconds). */
  readonly watermarkBehindWallClock: Gauge<'topic'>;
  /** Partitions currently idle (not holding the watermark back), and whether one has never spoken. */
  readonly idlePartitions: Gauge<'topic'>;
  /** Decisions waiting for the watermark (timers), by anomaly kind. */
  readonly pendingDecisions: Gauge<'kind'>;
  /** Events refused because their event time is implausible, by reason (too far ahead or behind). */
  readonly eventsOutOfBounds: Counter<'topic' | 'reason'>;
  /** Input partitions that have never sent an event (idle once the idle time has passed since the monitor saw the topic). */
  readonly partitionsNeverSpoke: Gauge<'topic'>;
  /** Events held until later events confirm their time (a far-ahead clock, or the first events of a stream). */
  readonly heldEvents: Gauge<'topic'>;
  /** Slices of partition-local detectors held in memory (the monitor's heap grows with them). */
  readonly residentSlices: Gauge<'topic'>;
  /** Seconds since the watermark last moved (by Redis's clock). */
  readonly watermarkStalledSeconds: Gauge<'topic'>;

  constructor(registry: Registry) {
    const r = [registry];
    this.partitionWatermark = new Gauge({ name: 'vigil_partition_watermark_seconds', help: 'Event-time watermark of each input partition (epoch seconds).', labelNames: ['topic', 'partition'], registers: r });
    this.watermark = new Gauge({ name: 'vigil_watermark_seconds', help: 'Event-time watermark the detectors decide by: the lowest of the active partitions (epoch seconds).', labelNames: ['topic'], registers: r });
    this.watermarkBehindNewest = new Gauge({ name: 'vigil_watermark_behind_newest_seconds', help: 'How far the watermark trails the newest event time seen.', labelNames: ['topic'], registers: r });
    this.watermarkBehindWallClock = new Gauge({ name: 'vigil_watermark_behind_wall_clock_seconds', help: 'How far the watermark trails the wall clock.', labelNames: ['topic'], registers: r });
    this.idlePartitions = new Gauge({ name: 'vigil_idle_partitions', help: 'Input partitions that are idle and no longer hold the watermark back.', labelNames: ['topic'], registers: r });
    this.pendingDecisions = new Gauge({ name: 'vigil_pending_decisions', help: 'Decisions waiting for the watermark to pass their due time, by anomaly kind.', labelNames: ['kind'], registers: r });
    this.eventsOutOfBounds = new Counter({ name: 'vigil_events_out_of_bounds_total', help: 'Events refused because their occurredAt is implausible (too far ahead of or behind the stream), by reason.', labelNames: ['topic', 'reason'], registers: r });
    this.partitionsNeverSpoke = new Gauge({ name: 'vigil_partitions_never_spoke', help: 'Input partitions that have never sent an event (they stop holding the watermark back after the idle time).', labelNames: ['topic'], registers: r });
    this.heldEvents = new Gauge({ name: 'vigil_events_held', help: 'Events held until later events confirm their event time (a clock far ahead, or the first events of a stream), on the partitions this instance runs.', labelNames: ['topic'], registers: r });
    this.residentSlices = new Gauge({ name: 'vigil_detector_resident_slices', help: 'Detector state slices of partition-local kinds (user, intent) this instance holds in memory for the partitions it runs; they are also in Redis, one hash per partition.', labelNames: ['topic'], registers: r });
    this.watermarkStalledSeconds = new Gauge({ name: 'vigil_watermark_stalled_seconds', help: 'Seconds since the event-time watermark last moved (Redis clock).', labelNames: ['topic'], registers: r });
  }
}
