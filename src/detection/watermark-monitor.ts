import type { Logger } from '../observability/logger.ts';
import type { WatermarkMetrics } from '../observability/watermark-metrics.ts';
import type { DetectionHandler, WatermarkStatus } from './detection-handler.ts';

export interface WatermarkMonitorOptions {
  handler: Pick<DetectionHandler, 'tick' | 'pendingByKind'>;
  logger: Logger;
  metrics?: WatermarkMetrics;
  /** How often to tick (ms): settle what idle partitions no longer hold back, re-judge held events. */
  intervalMs: number;
  /** Log when the watermark has not moved for this long (Redis clock), at most once per this long. */
  stallLogMs: number;
  /** Count pending decisions by kind (a read of every timer) at most this often. Default 10 s. */
  pendingEveryMs?: number;
}

/** What /readyz shows of event time. */
export interface EventTimeStatus {
  topic: string;
  watermark: string | null;
  settled: string | null;
  newestEvent: string | null;
  behindNewestSeconds: number | null;
  behindWallClockSeconds: number | null;
  stalledSeconds: number;
  why: string;
  heldBackBy: string | null;
  partitions: { partition: string; state: string; watermark: string | null; quietSeconds: number }[];
  idlePartitions: number;
  partitionsNeverSpoke: number;
  heldEvents: number;
  pendingDecisions: Record<string, number> | null;
}

/**
 * Makes event time visible and keeps it moving when no batch comes: every `intervalMs` it ticks the
 * live engine (DetectionHandler.tick), sets the watermark metrics, and logs, at most once per
 * `stallLogMs`, when the watermark has not moved for that long and why (which partition holds it
 * back, or no traffic), with the decisions left pending. `status()` is what /readyz reports.
 */
export class WatermarkMonitor {
  private readonly opts: WatermarkMonitorOptions;
  private readonly log: Logger;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  private last: WatermarkStatus[] = [];
  private readonly moved = new Map<string, { watermark: number; at: number; loggedAt: number }>();
  private pending: Record<string, number> | undefined;
  private pendingAt = -Infinity;
  private failures = 0;
  lastError: Error | undefined;

  constructor(opts: WatermarkMonitorOptions) {
    this.opts = opts;
    this.log = opts.logger.child({ component: 'event-time' });
  }

  start(): void {
    if (this.timer) return;
    const loop = () => {
      this.running = this.tickOnce().finally(() => {
        this.running = undefined;
        if (!this.stopped) this.timer = setTimeout(loop, this.opts.intervalMs);
      });
    };
    this.timer = setTimeout(loop, this.opts.intervalMs);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  /** One tick (tests call it directly). Never throws: a failure is logged (rate-limited) and kept in lastError. */
  async tickOnce(): Promise<void> {
    try {
      const statuses = await this.opts.handler.tick();
      this.last = statuses;
      const now = statuses[0]?.now ?? Date.now();
      if (now - this.pendingAt >= (this.opts.pendingEveryMs ?? 10_000) && statuses.length > 0) {
        this.pending = await this.opts.handler.pendingByKind(-Infinity);
        this.pendingAt = now;
        this.setPendingMetrics();
      }
      for (const s of statuses) this.observe(s);
      this.failures = 0;
      this.lastError = undefined;
    } catch (e) {
      this.lastError = e as Error;
      // the first failure, then one in every 30 (Redis down: the batches say so too)
      if (this.failures++ % 30 === 0) this.log.warn('event-time tick failed; retrying', { error: e as Error });
    }
  }

  /** Where event time stands, per topic (for /readyz). */
  status(): EventTimeStatus[] {
    return this.last.map((s) => {
      const c = s.combined;
      const w = s.watermark;
      const m = this.moved.get(s.topic);
      return {
        topic: s.topic,
        watermark: iso(w),
        settled: iso(s.settled),
        newestEvent: iso(c.newest),
        behindNewestSeconds: Number.isFinite(w) && Number.isFinite(c.newest) ? (c.newest - w) / 1000 : null,
        behindWallClockSeconds: Number.isFinite(w) ? (s.now - w) / 1000 : null,
        stalledSeconds: m ? Math.round((s.now - m.at) / 1000) : 0,
        why: s.reason,
        heldBackBy: c.heldBackBy ?? null,
        partitions: c.partitions.map((p) => ({ partition: p.partition, state: p.state, watermark: iso(p.watermark), quietSeconds: Math.round(p.quietMs / 1000) })),
        idlePartitions: c.idle,
        partitionsNeverSpoke: c.neverSpoke,
        heldEvents: s.held,
        pendingDecisions: this.pending ?? null,
      };
    });
  }

  private observe(s: WatermarkStatus): void {
    const c = s.combined;
    const m = this.opts.metrics;
    if (m) {
      for (const p of c.partitions) if (Number.isFinite(p.watermark)) m.partitionWatermark.set({ topic: s.topic, partition: p.partition.slice(p.partition.lastIndexOf('/') + 1) }, p.watermark / 1000);
      if (Number.isFinite(s.watermark)) {
        m.watermark.set({ topic: s.topic }, s.watermark / 1000);
        m.watermarkBehindWallClock.set({ topic: s.topic }, Math.max(0, (s.now - s.watermark) / 1000));
        if (Number.isFinite(c.newest)) m.watermarkBehindNewest.set({ topic: s.topic }, Math.max(0, (c.newest - s.watermark) / 1000));
      }
      m.idlePartitions.set({ topic: s.topic }, c.idle);
      m.partitionsNeverSpoke.set({ topic: s.topic }, c.neverSpoke);
      m.heldEvents.set({ topic: s.topic }, s.held);
      m.residentSlices.set({ topic: s.topic }, s.resident);
    }
    let mv = this.moved.get(s.topic);
    if (mv === undefined || s.watermark > mv.watermark) {
      mv = { watermark: s.watermark, at: s.now, loggedAt: mv?.loggedAt ?? -Infinity };
      this.moved.set(s.topic, mv);
    }
    const stalledMs = s.now - mv.at;
    m?.watermarkStalledSeconds.set({ topic: s.topic }, stalledMs / 1000);
    if (stalledMs >= this.opts.stallLogMs && s.now - mv.loggedAt >= this.opts.stallLogMs) {
      mv.loggedAt = s.now;
      const pending = this.pending ? Object.values(this.pending).reduce((a, b) => a + b, 0) : 0;
      const waiting = pending > 0 || s.held > 0 || c.heldBackBy !== undefined;
      this.log[waiting ? 'warn' : 'info']('event-time watermark has not moved', {
        topic: s.topic,
        watermark: iso(s.watermark),
        stalledSeconds: Math.round(stalledMs / 1000),
        why: s.reason,
        heldBackBy: c.heldBackBy ?? null,
        pendingDecisions: this.pending ?? null,
        heldEvents: s.held,
      });
    }
  }

  private setPendingMetrics(): void {
    const m = this.opts.metrics;
    if (!m || !this.pending) return;
    m.pendingDecisions.reset();
    for (const [kind, n] of Object.entries(this.pending)) m.pendingDecisions.set({ kind }, n);
  }
}

function iso(ms: number): string | null {
  return Number.isFinite(ms) ? new Date(ms).toISOString() : null;
}
