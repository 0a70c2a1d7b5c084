import type { ValidEvent } from '../core/events.ts';

/**
 * Bounds on what one event's clock can do to event time. A policy setting (`eventTime:`), so the live
 * monitor and `vigil replay` judge alike.
 */
export interface EventTimeBounds {
  /**
   * An event more than this ahead of the newest event time the stream has accepted is held, not run,
   * until later events confirm or refute its time (see jumpQuorum). It is also the most one accepted
   * event can move event time ahead of the rest of the stream (deciding early what is due within it).
   */
  readonly maxFutureSkewMs: number;
  /** An event more than this behind the newest event time its partition has accepted is refused. */
  readonly maxPastMs: number;
  /**
   * A held event runs once this many later events confirm its time (they are not more than
   * maxFutureSkewMs behind it: event time really moved on, as after a quiet gap), and is refused once
   * this many later events refute it (they are). 1 runs a far-ahead event as soon as one later event
   * confirms it.
   */
  readonly jumpQuorum: number;
}

export const DEFAULT_EVENT_TIME_BOUNDS: EventTimeBounds = Object.freeze({ maxFutureSkewMs: 300_000, maxPastMs: 86_400_000, jumpQuorum: 10 });

/** No bounds: every event runs as it comes (engine tests that are about something else). */
export const NO_EVENT_TIME_BOUNDS: EventTimeBounds = Object.freeze({ maxFutureSkewMs: Infinity, maxPastMs: Infinity, jumpQuorum: 1 });

/** At most this many events are held at once (per partition live); past it the oldest is refused. */
export const MAX_HELD_EVENTS = 64;

/**
 * Live, a batch that ends with at least this many events held before the stream has any event time
 * starts the clock at their median (settleBootstrap): the median of three still outvotes one wrong clock.
 */
export const BOOTSTRAP_MIN_BATCH = 3;

/** Why an event was refused for its time. */
export type OutOfBoundsReason = 'too_far_ahead' | 'too_far_behind';

/** An event held until later events confirm or refute its time, with the caller's payload (a line number, a Kafka message). */
export interface HeldEvent<P> {
  event: ValidEvent;
  payload: P;
  /** Later events that confirm its time. */
  yes: number;
  /** Later events that refute it (more than maxFutureSkewMs behind it). */
  no: number;
}

/** What the guard keeps between batches (live: per partition, in Redis; it is plain data). */
export interface GuardState<P> {
  /** The newest event time this partition (replay: the file) has accepted; −Infinity before any. */
  newest: number;
  /** Held events, in arrival order. */
  held: HeldEvent<P>[];
}

/** Where the guard's verdicts go, in the order events are to run. */
export interface GuardOutput<P> {
  accept(e: ValidEvent, payload: P, wasHeld: boolean): void;
  refuse(e: ValidEvent, payload: P, reason: OutOfBoundsReason, detail: string): void;
}

/**
 * The event-time rules for hostile clocks, shared by the live engine and `vigil replay` (pure, no I/O).
 *
 * - An event more than `maxPastMs` behind the newest event time accepted is refused (its partition's
 *   newest live, the file's in replay; before its partition has accepted anything, the stream's).
 * - An event more than `maxFutureSkewMs` ahead of the newest event time the stream has accepted (live:
 *   the highest of every partition's, as this partition last read it) is held: one event cannot move
 *   event time. Each later event confirms it (not more than maxFutureSkewMs behind it) or refutes it
 *   (further behind). It runs after `jumpQuorum` confirmations — event time really jumped, as after a
 *   quiet gap — or as soon as the stream catches up with it; it is refused after `jumpQuorum`
 *   refutations, or when too many events are held.
 * - Before the stream has accepted anything, events are held until `jumpQuorum` of them are there; the
 *   clock starts at their median time, so no single first event sets it (settleBootstrap).
 *
 * Only event times decide, so the verdict does not depend on the wall clock or on how partitions are
 * interleaved (ordinary traffic is minutes apart, far inside the bounds).
 */
export class EventTimeGuard<P> {
  readonly bounds: EventTimeBounds;
  private newestOwn: number;
  private stream: number;
  private readonly heldList: HeldEvent<P>[];

  /** `streamNewest`: the newest event time the other partitions accepted (live); replay leaves it out. */
  constructor(bounds: EventTimeBounds, state?: GuardState<P>, streamNewest = -Infinity) {
    this.bounds = bounds;
    this.newestOwn = state?.newest ?? -Infinity;
    this.heldList = state ? state.held.map((h) => ({ ...h })) : [];
    this.stream = streamNewest;
  }

  /** The newest event time accepted here (−Infinity before any). */
  get newest(): number {
    return this.newestOwn;
  }

  /** The newest event time of the stream as far as this guard knows: the reference of the future bound. */
  get reference(): number {
    return this.stream > this.newestOwn ? this.stream : this.newestOwn;
  }

  get held(): readonly HeldEvent<P>[] {
    return this.heldList;
  }

  /** The state to keep until the next batch (a copy). */
  state(): GuardState<P> {
    return { newest: this.newestOwn, held: this.heldList.map((h) => ({ ...h })) };
  }

  /** Tells the guard that the stream moved on elsewhere (live: other partitions); what is held is judged again. */
  observeStream(newest: number, out: GuardOutput<P>): void {
    if (newest > this.stream) this.stream = newest;
    this.release(out);
  }

  /** Judges one event: it runs (now, or with held ones it confirms), is held, or is refused. */
  offer(e: ValidEvent, payload: P, out: GuardOutput<P>): 'accepted' | 'held' | 'refused' {
    const { maxFutureSkewMs, maxPastMs } = this.bounds;
    const past = this.newestOwn > -Infinity ? this.newestOwn : this.stream;
    if (past > -Infinity && e.ts < past - maxPastMs) {
      out.refuse(e, payload, 'too_far_behind', behind(e.ts, past, maxPastMs));
      return 'refused';
    }
    const ref = this.reference;
    if (ref === -Infinity) {
      // No event time yet: events wait until enough are there to take the median of (unless no bound).
      if (maxFutureSkewMs === Infinity) {
        out.accept(e, payload, false);
        this.note(e.ts);
        return 'accepted';
      }
      this.heldList.push({ event: e, payload, yes: 0, no: 0 });
      if (this.heldList.length >= Math.min(this.bounds.jumpQuorum, MAX_HELD_EVENTS)) this.settleBootstrap(out);
      return this.heldList.some((h) => h.event === e) ? 'held' : 'accepted';
    }
    const held = e.ts > ref + maxFutureSkewMs;
    if (!held) {
      out.accept(e, payload, false);
      this.note(e.ts);
    }
    // It confirms or refutes what was held before it.
    if (this.heldList.length > 0) this.vote(e.ts, out);
    if (!held) {
      this.release(out);
      return 'accepted';
    }
    const h: HeldEvent<P> = { event: e, payload, yes: 0, no: 0 };
    this.heldList.push(h);
    if (this.heldList.length > MAX_HELD_EVENTS) {
      const oldest = this.heldList.shift()!;
      out.refuse(oldest.event, oldest.payload, 'too_far_ahead', `${this.ahead(oldest.event.ts)}, and ${MAX_HELD_EVENTS} later events were held too before its time was confirmed`);
    }
    this.release(out);
    return this.heldList.includes(h) ? 'held' : 'accepted';
  }

  /**
   * Starts the stream's clock from what is held before any event time was accepted: their median time
   * (so fewer than half of them cannot set it), then judges each against it. Runs by itself once
   * `jumpQuorum` events are held; `vigil replay` calls it at the end of an input too short for that, the
   * live engine at the end of a batch that holds `minHeld` (BOOTSTRAP_MIN_BATCH) or when the partition
   * has been quiet for the idle time.
   */
  settleBootstrap(out: GuardOutput<P>, minHeld = 1): void {
    if (this.reference > -Infinity || this.heldList.length === 0 || this.heldList.length < minHeld) return;
    const times = this.heldList.map((h) => h.event.ts).sort((a, b) => a - b);
    this.stream = times[Math.floor(times.length / 2)]!;
    this.release(out);
  }

  /** Refuses everything still held (the end of a replay when the caller wants them refused). */
  refuseHeld(out: GuardOutput<P>, why: string): void {
    for (const h of this.heldList.splice(0)) out.refuse(h.event, h.payload, 'too_far_ahead', `${this.ahead(h.event.ts)}, and ${why}`);
  }

  /** A later event's verdict on each held event; those confirmed by the quorum move event time to them. */
  private vote(ts: number, out: GuardOutput<P>): void {
    const { maxFutureSkewMs, jumpQuorum } = this.bounds;
    let jumpTo = -Infinity;
    for (let i = 0; i < this.heldList.length; ) {
      const h = this.heldList[i]!;
      if (ts >= h.event.ts - maxFutureSkewMs) {
        if (++h.yes >= jumpQuorum && h.event.ts > jumpTo) jumpTo = h.event.ts;
      } else if (++h.no >= jumpQuorum) {
        this.heldList.splice(i, 1);
        out.refuse(h.event, h.payload, 'too_far_ahead', `${this.ahead(h.event.ts)}, and ${jumpQuorum} later events were more than that behind it`);
        continue;
      }
      i++;
    }
    if (jumpTo > this.stream) this.stream = jumpTo;
  }

  /** Runs, in arrival order, the held events now in bounds of the reference; refuses those now far behind it. */
  private release(out: GuardOutput<P>): void {
    if (this.heldList.length === 0) return;
    const { maxFutureSkewMs, maxPastMs } = this.bounds;
    for (;;) {
      const ref = this.reference;
      if (ref === -Infinity) return;
      const run: HeldEvent<P>[] = [];
      for (let i = 0; i < this.heldList.length; ) {
        const h = this.heldList[i]!;
        if (h.event.ts < ref - maxPastMs) {
          this.heldList.splice(i, 1);
          out.refuse(h.event, h.payload, 'too_far_behind', behind(h.event.ts, ref, maxPastMs));
        } else if (h.event.ts <= ref + maxFutureSkewMs) {
          this.heldList.splice(i, 1);
          run.push(h);
        } else {
          i++;
        }
      }
      if (run.length === 0) return;
      for (const h of run) {
        out.accept(h.event, h.payload, true);
        this.note(h.event.ts);
      }
      // Running them may have moved the reference: look again.
    }
  }

  private note(ts: number): void {
    if (ts > this.newestOwn) this.newestOwn = ts;
  }

  private ahead(ts: number): string {
    const ref = this.reference;
    if (ref === -Infinity) return `occurredAt ${iso(ts)} could not be placed: the stream has no event time yet`;
    return `occurredAt ${iso(ts)} is ${span(ts - ref)} ahead of the newest event time accepted (${iso(ref)}), more than maxFutureSkewMs ${this.bounds.maxFutureSkewMs}`;
  }
}

function behind(ts: number, ref: number, maxPastMs: number): string {
  return `occurredAt ${iso(ts)} is ${span(ref - ts)} behind the newest event time accepted (${iso(ref)}), more than maxPastMs ${maxPastMs}`;
}

function iso(ts: number): string {
  return new Date(ts).toISOString();
}

/** A duration for people: "3652 d 0 h", "2 h 5 min", "90 s". */
export function span(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 120) return `${s} s`;
  const min = Math.floor(s / 60);
  if (min < 120) return `${min} min`;
  const h = Math.floor(min / 60);
  if (h < 48) return `${h} h ${min % 60} min`;
  return `${Math.floor(h / 24)} d ${h % 24} h`;
}
