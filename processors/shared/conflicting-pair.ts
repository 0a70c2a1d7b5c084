import { insertEv, type Ev } from './evidence.ts';

/** An event kept to be paired: its evidence plus the fields a rule compares. */
export interface PairEntry extends Ev {
  /** payloadHash. */
  h?: string;
  /** Idempotency key (or a stand-in unique to the event when it had none). */
  k?: string;
  /** outcome.vendorRef. */
  r?: string;
  /** agentId. */
  ag: string;
}

/**
 * A slice that waits for the first pair of events that conflict within a window (two payloads
 * under one idempotency key, two bookings of one payload…). Entries are sorted by (event time,
 * eventId); the first pair is decided once the watermark passes its later event, so the evidence is
 * the same whatever the arrival order. One finding per slice: once it fired, the slice only extends
 * its life while the episode goes on.
 */
export interface PairSlice {
  l: PairEntry[];
  /** Fired. */
  done: boolean;
  /** Window, ms (from the event's params). */
  W: number;
  /** Latest event time seen. */
  last: number;
  /** Event time of the later event of the first conflicting pair, when there is one. */
  due?: number;
}

/** Entries kept per slice; the oldest go first. */
const MAX_ENTRIES = 64;

/** A new, empty pair slice. */
export function newPairSlice(): PairSlice {
  return { l: [], done: false, W: 0, last: Number.MIN_SAFE_INTEGER };
}

/**
 * Adds an entry and recomputes the due time of the first conflicting pair.
 * `conflicts(a, b)` is called with a before b in event time.
 */
export function addPairEntry(s: PairSlice, x: PairEntry, windowMs: number, conflicts: (a: PairEntry, b: PairEntry) => boolean): void {
  if (s.done && x.t > s.last + s.W) {
    // Past the slice's expiry: a new episode, exactly as a fresh slice would see it.
    s.done = false;
    s.l = [];
    s.due = undefined;
  }
  s.W = windowMs;
  if (x.t > s.last) s.last = x.t;
  if (s.done) return;
  if (!insertEv(s.l, x)) return;
  while (s.l.length > MAX_ENTRIES) s.l.shift();
  // Entries a whole window older than the newest can no longer pair with anything still to come.
  while (s.l.length > 1 && s.l[0]!.t < s.last - 2 * windowMs) s.l.shift();
  const pair = firstPair(s.l, windowMs, conflicts);
  if (pair === undefined) s.due = undefined;
  else s.due = s.l[pair[1]]!.t;
}

/**
 * The first conflicting pair in event-time order: the earliest entry `j` that conflicts with an
 * earlier entry within `windowMs`, and the earliest such entry `i`.
 */
export function firstPair(l: readonly PairEntry[], windowMs: number, conflicts: (a: PairEntry, b: PairEntry) => boolean): [number, number] | undefined {
  for (let j = 1; j < l.length; j++) {
    const b = l[j]!;
    let lo = j;
    while (lo > 0 && b.t - l[lo - 1]!.t <= windowMs) lo--;
    for (let i = lo; i < j; i++) if (conflicts(l[i]!, b)) return [i, j];
  }
  return undefined;
}

/** Pair-slice due time, for `nextDue`. */
export function pairNextDue(s: PairSlice): number | undefined {
  return s.done ? undefined : s.due;
}

/**
 * When the watermark has passed the first conflicting pair, marks the slice fired and returns the
 * pair; otherwise undefined.
 */
export function settlePair(s: PairSlice, watermark: number, conflicts: (a: PairEntry, b: PairEntry) => boolean): [PairEntry, PairEntry] | undefined {
  if (s.done || s.due === undefined || s.due > watermark) return undefined;
  const pair = firstPair(s.l, s.W, conflicts);
  if (pair === undefined) return undefined;
  s.done = true;
  s.due = undefined;
  const result: [PairEntry, PairEntry] = [s.l[pair[0]]!, s.l[pair[1]]!];
  s.l = [];
  return result;
}

/** Event time after which the slice is useless: a window after its latest event. */
export function pairExpiresAt(s: PairSlice): number {
  return s.last + s.W;
}
