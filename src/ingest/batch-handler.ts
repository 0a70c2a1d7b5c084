import type { ValidEvent } from '../../processors/core/events.ts';

/** Where a batch came from, for logs, metrics and traces. */
export interface BatchContext {
  topic: string;
  partition: number;
  /** Offset of the batch's last message. */
  lastOffset: string;
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
}

/** The handler used before any detector is wired in: it only counts. */
export class CountingHandler implements BatchHandler {
  count = 0;
  async handle(events: readonly ValidEvent[]): Promise<void> {
    this.count += events.length;
  }
}
