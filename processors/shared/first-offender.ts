import { isBefore, type Ev } from './evidence.ts';

/** How long a slice about one intent is kept after its last event (event time). */
export const INTENT_MEMORY_MS = 900_000;

/**
 * A slice that reports the first offending event of an episode: the earliest one by (event time,
 * eventId), decided once the watermark has passed it, so the evidence does not depend on arrival
 * order. Later offences, while the slice lives, belong to the same episode.
 */
export interface OffenderSlice<X extends Ev> {
  /** The earliest offence so far, not yet reported. */
  c?: X;
  /** Reported. */
  done: boolean;
  /** Latest event time seen. */
  last: number;
}

/** A new offender slice. */
export function newOffenderSlice<X extends Ev>(): OffenderSlice<X> {
  return { done: false, last: Number.MIN_SAFE_INTEGER };
}

/**
 * Notes an offence (a redelivered one changes nothing). One later than `memoryMs` after the slice's
 * last event starts a new episode, as a fresh slice would after expiry.
 */
export function noteOffence<X extends Ev>(s: OffenderSlice<X>, x: X, memoryMs: number): void {
  if (s.done && x.t > s.last + memoryMs) {
    s.done = false;
    s.c = undefined;
  }
  if (x.t > s.last) s.last = x.t;
  if (s.done) return;
  if (s.c === undefined || isBefore(x, s.c)) s.c = x;
}

/** Due time of the pending offence, for `nextDue`. */
export function offenceDue<X extends Ev>(s: OffenderSlice<X>): number | undefined {
  return s.done || s.c === undefined ? undefined : s.c.t;
}

/** The offence to report now that the watermark is `watermark`, if any (the slice is marked done). */
export function settleOffence<X extends Ev>(s: OffenderSlice<X>, watermark: number): X | undefined {
  if (s.done || s.c === undefined || s.c.t > watermark) return undefined;
  const x = s.c;
  s.done = true;
  s.c = undefined;
  return x;
}
