import type { Batch, KafkaMessage } from 'kafkajs';
import type { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import type { ValidEvent } from '../../processors/core/events.ts';
import { isRetriable } from '../errors/vigil-error.ts';
import { BadEventError, decodeEvent } from '../kafka/event-codec.ts';
import type { BatchHandler } from './batch-handler.ts';
import type { DeadLetter } from './dead-letter.ts';
import type { EventDedupe } from './dedupe.ts';

export interface BatchOutcome {
  consumed: number;
  handled: number;
  duplicates: number;
  deadLettered: DeadLetter[];
  newestEventTs: number | undefined;
}

export interface BatchProcessorDeps {
  registry: SchemaRegistry | undefined;
  maxEventBytes: number;
  dedupe: EventDedupe;
  handler: BatchHandler;
  sendDeadLetters: (letters: readonly DeadLetter[]) => Promise<void>;
}

/**
 * One Kafka batch, start to durable end: decode and validate every message, dead-letter the bad ones,
 * drop eventIds already handled, hand the new events to the handler, then mark them handled.
 * Throws a retriable error (Redis, registry, broker down) to have the whole batch retried: every step
 * is idempotent, so a retry repeats nothing that was already durable.
 * A non-retriable error from the handler (a bug, not the input's fault) dead-letters the batch's events
 * with reason `processing_failed` rather than blocking the partition forever.
 */
export async function processBatch(batch: Pick<Batch, 'topic' | 'partition' | 'messages'>, deps: BatchProcessorDeps): Promise<BatchOutcome> {
  const good: { event: ValidEvent; message: KafkaMessage }[] = [];
  const deadLettered: DeadLetter[] = [];
  for (const message of batch.messages) {
    try {
      good.push({ event: await decodeEvent(message.value, deps.registry, deps.maxEventBytes), message });
    } catch (e) {
      if (e instanceof BadEventError) deadLettered.push({ message, reason: e.reason, detail: e.message });
      else throw e;
    }
  }

  const unseen = await deps.dedupe.unseen(good.map((g) => g.event.eventId));
  const fresh: ValidEvent[] = [];
  const freshMessages: KafkaMessage[] = [];
  let newestEventTs: number | undefined;
  for (const g of good) {
    // delete: a second copy inside the same batch is a duplicate too.
    if (!unseen.delete(g.event.eventId)) continue;
    fresh.push(g.event);
    freshMessages.push(g.message);
    if (newestEventTs === undefined || g.event.ts > newestEventTs) newestEventTs = g.event.ts;
  }

  const last = batch.messages[batch.messages.length - 1];
  let failed = false;
  try {
    await deps.handler.handle(fresh, {
      topic: batch.topic,
      partition: batch.partition,
      lastOffset: last?.offset ?? '-1',
      markSeen: (commands) => deps.dedupe.addMarks(commands, fresh.map((e) => e.eventId)),
    });
  } catch (e) {
    if (isRetriable(e)) throw e;
    failed = true;
    const detail = `processing failed: ${(e as Error)?.message ?? String(e)}`;
    for (const message of freshMessages) deadLettered.push({ message, reason: 'processing_failed', detail });
  }
  await deps.sendDeadLetters(deadLettered);
  if (!deps.handler.marksSeen || failed) await deps.dedupe.markSeen(fresh.map((e) => e.eventId));
  return {
    consumed: batch.messages.length,
    handled: failed ? 0 : fresh.length,
    duplicates: good.length - fresh.length,
    deadLettered,
    newestEventTs,
  };
}
