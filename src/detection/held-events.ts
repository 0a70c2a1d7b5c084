import type { IHeaders, KafkaMessage } from 'kafkajs';
import type { ValidEvent } from '../../processors/core/events.ts';
import type { HeldEvent, OutOfBoundsReason } from '../../processors/engine/event-time-guard.ts';

/** The DLQ reason of an event refused for its event time (a hostile clock). */
export const OUT_OF_BOUNDS_REASON = 'event_time_out_of_bounds';

/**
 * A held event's Kafka message, kept with it in Redis (its offset is committed while it waits), so that
 * if it is refused later the dead letter carries the original key, value and headers (base64).
 */
export interface StoredMessage {
  k: string | null;
  v: string | null;
  h: Record<string, string>;
  o: string;
}

/** What the guard carries with each event in a live pass: its index in the batch, or a held event's stored message. */
export type LivePayload = number | StoredMessage;

/** An event refused for its time, ready for the dead-letter topic. */
export interface RefusedEvent {
  message: KafkaMessage;
  eventId: string;
  reason: OutOfBoundsReason;
  detail: string;
}

/** Stores a message (or, without one, e.g. in tests, the event as JSON at offset −1). */
export function storeMessage(m: KafkaMessage | undefined, e: ValidEvent): StoredMessage {
  if (m === undefined) return { k: Buffer.from(e.userId).toString('base64'), v: Buffer.from(JSON.stringify(e)).toString('base64'), h: {}, o: '-1' };
  const h: Record<string, string> = {};
  for (const [name, value] of Object.entries((m.headers ?? {}) as IHeaders)) {
    if (value === undefined) continue;
    const one = Array.isArray(value) ? value[0] : value;
    if (one !== undefined) h[name] = Buffer.from(one as Buffer | string).toString('base64');
  }
  return { k: m.key ? m.key.toString('base64') : null, v: m.value ? m.value.toString('base64') : null, h, o: m.offset };
}

/** The Kafka message a stored one stands for (what the dead-letter producer needs). */
export function messageOf(s: StoredMessage): KafkaMessage {
  const headers: IHeaders = {};
  for (const [name, value] of Object.entries(s.h)) headers[name] = Buffer.from(value, 'base64');
  return {
    key: s.k === null ? null : Buffer.from(s.k, 'base64'),
    value: s.v === null ? null : Buffer.from(s.v, 'base64'),
    headers,
    offset: s.o,
    timestamp: '-1',
    attributes: 0,
  } as KafkaMessage;
}

/** Held events as stored in Redis (each with its message), '' when none. */
export function encodeHeld(held: readonly HeldEvent<LivePayload>[], messageAt: (i: number, e: ValidEvent) => StoredMessage): string {
  if (held.length === 0) return '';
  return JSON.stringify(held.map((h) => ({ e: h.event, m: typeof h.payload === 'number' ? messageAt(h.payload, h.event) : h.payload, y: h.yes, n: h.no })));
}

/** Held events read back from Redis. */
export function decodeHeld(json: string | null): HeldEvent<LivePayload>[] {
  if (json === null || json === '') return [];
  return (JSON.parse(json) as { e: ValidEvent; m: StoredMessage; y: number; n: number }[]).map((r) => ({ event: r.e, payload: r.m, yes: r.y, no: r.n }));
}
