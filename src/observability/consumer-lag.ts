import type { Admin } from 'kafkajs';
import type { Logger } from './logger.ts';
import type { PipelineMetrics } from './pipeline-metrics.ts';

export interface ConsumerLagOptions {
  /** A connected admin client (the monitor's); this module never disconnects it. */
  admin: Admin;
  topic: string;
  groupId: string;
  metrics: PipelineMetrics;
  intervalMs: number;
  logger: Logger;
}

/** One partition's lag: its end offset minus the group's committed offset (or its start when none). */
export interface PartitionLag {
  partition: number;
  lag: number;
}

/**
 * Reads the consumer group's lag from the broker: the input topic's end offsets (admin
 * fetchTopicOffsets) against the group's committed offsets (admin fetchOffsets). A partition the group
 * never committed counts from its first offset. Pure arithmetic; the I/O is in ConsumerLagMonitor.
 */
export function lagOf(ends: readonly { partition: number; high: string; low: string }[], committed: readonly { partition: number; offset: string }[]): PartitionLag[] {
  const byPartition = new Map(committed.map((c) => [c.partition, c.offset]));
  return ends
    .map((e) => {
      const c = byPartition.get(e.partition);
      const from = c === undefined || c === '-1' ? BigInt(e.low) : BigInt(c);
      const lag = BigInt(e.high) - from;
      return { partition: e.partition, lag: lag > 0n ? Number(lag) : 0 };
    })
    .sort((a, b) => a.partition - b.partition);
}

/**
 * Refreshes `vigil_consumer_lag_messages{topic,partition}` on an interval (never per scrape: a scrape
 * storm costs the broker nothing). Several instances of one group each export the group's lag; dashboards
 * and alerts take max by partition.
 */
export class ConsumerLagMonitor {
  private readonly o: ConsumerLagOptions;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private failures = 0;

  constructor(opts: ConsumerLagOptions) {
    this.o = opts;
  }

  start(): void {
    void this.refresh();
    this.timer = setInterval(() => void this.refresh(), this.o.intervalMs);
    this.timer.unref();
  }

  /** Reads the lag once now (single-flight). */
  refresh(): Promise<void> {
    this.running ??= this.read().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async read(): Promise<void> {
    const { admin, topic, groupId, metrics } = this.o;
    try {
      const [ends, groups] = await Promise.all([admin.fetchTopicOffsets(topic), admin.fetchOffsets({ groupId, topics: [topic] })]);
      const committed = groups.find((g) => g.topic === topic)?.partitions ?? [];
      for (const p of lagOf(ends, committed)) metrics.consumerLag.set({ topic, partition: String(p.partition) }, p.lag);
      metrics.consumerLagUpdated.setToCurrentTime();
      this.failures = 0;
    } catch (e) {
      metrics.consumerLagErrors.inc();
      // One line per outage, not one per interval.
      if (this.failures++ === 0) this.o.logger.warn('consumer lag could not be read', { topic, groupId, error: e as Error });
    }
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }
}
