import type { Batch, KafkaMessage } from 'kafkajs';
import type { ValidEvent } from '../../processors/core/events.ts';
import { isRetriable } from '../errors/vigil-error.ts';
import { BadEventError, type EventDecoder } from '../kafka/event-codec.ts';
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
  decoder: EventDecoder;
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
 *
 * Waits happen per batch, never per event: the registry (only for schema ids not seen before), one
 * Redis round trip to check, the handler, the dead letters, one Redis round trip to mark.
 */
export async function processBatch(batch: Pick<Batch, 'topic' | 'partition' | 'messages'>, deps: BatchProcessorDeps): Promise<BatchOutcome> {
  const messages = batch.messages;
  const { decoder } = deps;
  await decoder.loadSchemas(messages);

  const events: ValidEvent[] = [];
  const eventMessages: KafkaMessage[] = [];
  const ids: string[] = [];
  const deadLettered: DeadLetter[] = [];
  for (let i = 0; i < messages.length; i++) {
    const message = messages[i]!;
    let event: ValidEvent;
    try {
      event = decoder.decode(message.value);
    } catch (e) {
      if (e instanceof BadEventError) {
        deadLettered.push({ message, reason: e.reason, detail: e.message });
        continue;
      }
      throw e;
    }
    events.push(event);
    eventMessages.push(message);
    ids.push(event.eventId);
  }

  const check = await deps.dedupe.check(ids);
  const isFresh = check.fresh;
  const fresh: ValidEvent[] = [];
  const freshIds: string[] = [];
  const freshMessages: KafkaMessage[] = [];
  let newestEventTs: number | undefined;
  for (let i = 0; i < events.length; i++) {
    if (!isFresh[i]) continue;
    const event = events[i]!;
    fresh.push(event);
    freshIds.push(ids[i]!);
    freshMessages.push(eventMessages[i]!);
    if (newestEventTs === undefined || event.ts > newestEventTs) newestEventTs = event.ts;
  }

  const last = messages[messages.length - 1];
  let failed = false;
  try {
    await deps.handler.handle(fresh, {
      topic: batch.topic,
      partition: batch.partition,
      lastOffset: last?.offset ?? '-1',
      markSeen: (commands) => deps.dedupe.addMarks(commands, freshIds),
      messages: freshMessages,
      consumed: messages.length,
    });
  } catch (e) {
    if (isRetriable(e)) throw e;
    failed = true;
    const detail = `processing failed: ${(e as Error)?.message ?? String(e)}`;
    for (let i = 0; i < events.length; i++) if (isFresh[i]) deadLettered.push({ message: eventMessages[i]!, reason: 'processing_failed', detail });
  }
  await deps.sendDeadLetters(deadLettered);
  if (!deps.handler.marksSeen || failed) await deps.dedupe.markChecked(check);
  return {
    consumed: messages.length,
    handled: failed ? 0 : fresh.length,
    duplicates: events.length - fresh.length,
    deadLettered,
    newestEventTs,
  };
}
