import type { KafkaMessage } from 'kafkajs';
import type { ValidEvent } from '../../processors/core/events.ts';

/** Where a batch came from, for logs, metrics and traces. */
export interface BatchContext {
  topic: string;
  partition: number;
  /** Offset of the batch's last message. */
  lastOffset: string;
  /**
   * The Kafka message each event came from (same index as the events): timestamps and headers, for
   * metrics and traces, and the original to dead-letter when a handler refuses an event later (e.g. for
   * its event time). Absent in tests that make batches by hand.
   */
  messages?: readonly KafkaMessage[];
  /** Messages in the Kafka batch (valid, bad and duplicate alike). */
  consumed?: number;
  /**
   * Where a handler that runs one batch at a time adds how long this one waited behind the others
   * (ms) before its own work began: ingest reports it apart (vigil_batch_stage_seconds{stage="wait"}).
   */
  timing?: { waitMs: number };
}

/**
 * The stage after ingest: receives each Kafka batch's new events (valid, deduped on eventId, in
 * partition order) and resolves only once every effect of the batch is durable (state saved, findings
 * published). Ingest commits the batch's offsets after that, and not before. A rejection with a
 * retriable error makes ingest retry the batch; the handler must therefore be idempotent.
 */
export interface BatchHandler {
  handle(events: readonly ValidEvent[], ctx: BatchContext): Promise<void>;
  /** Flushes and releases resources on shutdown. */
  close?(): Promise<void>;
  /** What the handler wants shown in /readyz details (e.g. where event time stands). */
  status?(): unknown;
  /**
   * The partitions of `topic` this instance owns now (after each rebalance): a handler that holds
   * per-partition state in memory forgets the partitions it lost.
   */
  assigned?(topic: string, partitions: readonly number[]): void;
}

/** The handler used before any detector is wired in: it only counts. */
export class CountingHandler implements BatchHandler {
  count = 0;
  async handle(events: readonly ValidEvent[]): Promise<void> {
    this.count += events.length;
  }
}
