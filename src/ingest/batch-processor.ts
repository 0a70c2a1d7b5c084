import type { Batch, KafkaMessage } from 'kafkajs';
import type { ValidEvent } from '../../processors/core/events.ts';
import { BadEventError, type EventDecoder } from '../kafka/event-codec.ts';
import type { BatchHandler } from './batch-handler.ts';
import type { DeadLetter } from './dead-letter.ts';
import type { EventDedupe } from './dedupe.ts';
import { isolatePoison, type IsolationOptions } from './poison-isolation.ts';

export interface BatchOutcome {
  consumed: number;
  handled: number;
  duplicates: number;
  deadLettered: DeadLetter[];
  newestEventTs: number | undefined;
  /** Milliseconds the batch spent in each stage (BatchStageTimes). */
  stageMs: BatchStageTimes;
}

/**
 * Where a batch's time went, in ms: decoding and validating, the dedupe check, waiting behind other
 * partitions' batches for the handler (`wait`), the handler's own work (`handle`), dead-lettering, and
 * marking the eventIds handled. An isolated batch's runs count in `handle`.
 */
export interface BatchStageTimes {
  decode: number;
  dedupe: number;
  wait: number;
  handle: number;
  deadLetter: number;
  mark: number;
}

/** Where processBatch is: a caller tells a failure of the handler (maybe the input's fault) from one of I/O. */
export type BatchStage = 'decode' | 'dedupe' | 'handle' | 'dead-letter' | 'mark';

/** One event given up on: what the error log needs (no event content: it may hold personal data). */
export interface PoisonReport {
  eventId: string | undefined;
  offset: string;
  error: unknown;
}

export interface BatchProcessorDeps {
  decoder: EventDecoder;
  dedupe: EventDedupe;
  handler: BatchHandler;
  sendDeadLetters: (letters: readonly DeadLetter[]) => Promise<void>;
  /** Updated as the batch goes through its stages. */
  progress?: { stage: BatchStage };
  /**
   * Isolation mode (after the handler failed on the batch with a non-retriable error, or too often):
   * the fresh events are handled in disjoint runs, in order, and the ones that fail on their own are
   * dead-lettered as `processing_failed` (see poison-isolation.ts).
   */
  isolate?: Pick<IsolationOptions<unknown>, 'budget' | 'confirmAttempts' | 'pause'>;
  /** Called for every event dead-lettered as processing_failed (the caller logs it with its stack). */
  onPoison?: (report: PoisonReport) => void;
}

/**
 * One Kafka batch, start to durable end: decode and validate every message, dead-letter the bad ones,
 * drop eventIds already handled, hand the new events to the handler, then mark them handled.
 * Throws to have the whole batch retried (every step is idempotent, so a retry repeats nothing that was
 * already durable); the caller decides from the error and `progress.stage` whether to wait (a dependency
 * is down) or to run the batch again in isolation mode (the handler fails on something in it).
 *
 * Waits happen per batch, never per event: the registry (only for schema ids not seen before), one
 * Redis round trip to check, the handler, the dead letters, one Redis round trip to mark.
 */
export async function processBatch(batch: Pick<Batch, 'topic' | 'partition' | 'messages'>, deps: BatchProcessorDeps): Promise<BatchOutcome> {
  const messages = batch.messages;
  const { decoder } = deps;
  const progress = deps.progress ?? { stage: 'decode' };
  progress.stage = 'decode';
  const stageMs: BatchStageTimes = { decode: 0, dedupe: 0, wait: 0, handle: 0, deadLetter: 0, mark: 0 };
  let t = performance.now();
  const lap = (stage: keyof BatchStageTimes) => {
    const now = performance.now();
    stageMs[stage] += now - t;
    t = now;
  };
  await decoder.loadSchemas(messages);

  const events: ValidEvent[] = [];
  const eventMessages: KafkaMessage[] = [];
  const ids: string[] = [];
  const deadLettered: DeadLetter[] = []; // bad values, sent after the handler
  const poisoned: DeadLetter[] = []; // events the handler failed on, sent as they are found
  for (let i = 0; i < messages.length; i++) {
    const message = messages[i]!;
    let event: ValidEvent;
    try {
      event = decoder.decode(message.value);
    } catch (e) {
      if (e instanceof BadEventError) {
        deadLettered.push({ message, reason: e.reason, detail: e.message });
      } else {
        // decode() is synchronous and does no I/O: whatever it throws, this value is what it chokes on.
        deadLettered.push({ message, reason: 'processing_failed', detail: failureDetail('decoding', e) });
        deps.onPoison?.({ eventId: undefined, offset: message.offset, error: e });
      }
      continue;
    }
    events.push(event);
    eventMessages.push(message);
    ids.push(event.eventId);
  }

  lap('decode');
  progress.stage = 'dedupe';
  const check = await deps.dedupe.check(ids);
  lap('dedupe');
  const isFresh = check.fresh;
  const fresh: number[] = []; // indexes into events
  let newestEventTs: number | undefined;
  for (let i = 0; i < events.length; i++) {
    if (!isFresh[i]) continue;
    fresh.push(i);
    const ts = events[i]!.ts;
    if (newestEventTs === undefined || ts > newestEventTs) newestEventTs = ts;
  }

  progress.stage = 'handle';
  const timing = { waitMs: 0 };
  const handle = (run: readonly number[]) =>
    deps.handler.handle(
      run.map((i) => events[i]!),
      {
        topic: batch.topic,
        partition: batch.partition,
        lastOffset: run.length ? eventMessages[run[run.length - 1]!]!.offset : (messages[messages.length - 1]?.offset ?? '-1'),
        messages: run.map((i) => eventMessages[i]!),
        // a run of an isolated batch counts its own messages (runs are disjoint: each is counted once)
        consumed: deps.isolate ? run.length : messages.length,
        timing,
      },
    );
  let handled = fresh.length;
  if (!deps.isolate) {
    await handle(fresh);
  } else {
    await isolatePoison(fresh, {
      ...deps.isolate,
      idOf: (i) => ids[i]!,
      run: async (run) => {
        progress.stage = 'handle';
        await handle(run);
        await deps.dedupe.markSeen(run.map((i) => ids[i]!));
      },
      poison: async (i, error) => {
        progress.stage = 'dead-letter';
        const letter: DeadLetter = { message: eventMessages[i]!, reason: 'processing_failed', detail: failureDetail('handling', error) };
        await deps.sendDeadLetters([letter]);
        await deps.dedupe.markSeen([ids[i]!]);
        poisoned.push(letter);
        handled--;
        deps.onPoison?.({ eventId: ids[i]!, offset: eventMessages[i]!.offset, error });
      },
    });
  }

  lap('handle');
  stageMs.wait = Math.min(timing.waitMs, stageMs.handle);
  stageMs.handle -= stageMs.wait;
  progress.stage = 'dead-letter';
  await deps.sendDeadLetters(deadLettered);
  lap('deadLetter');
  progress.stage = 'mark';
  if (!deps.isolate) await deps.dedupe.markChecked(check);
  lap('mark');
  return {
    consumed: messages.length,
    handled,
    duplicates: events.length - fresh.length,
    deadLettered: poisoned.length ? [...deadLettered, ...poisoned] : deadLettered,
    newestEventTs,
    stageMs,
  };
}

/** The DLQ detail of a processing failure: where, the error's name and message (the stack goes to the log). */
function failureDetail(stage: 'decoding' | 'handling', e: unknown): string {
  const err = e as Error | undefined;
  return `processing failed while ${stage}: ${err?.name ?? 'Error'}: ${err?.message ?? String(e)}`;
}
