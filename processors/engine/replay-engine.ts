import type { Detector } from '../core/detector.ts';
import type { ValidEvent } from '../core/events.ts';
import type { Finding } from '../core/finding.ts';
import { EventDedupe } from './event-dedupe.ts';
import { EventTimeGuard, type GuardOutput, type OutOfBoundsReason } from './event-time-guard.ts';
import { createRuleSet, type RuleSet } from './rule-set.ts';
import { SliceRunner } from './slice-runner.ts';

export interface ReplayEngineOptions {
  detectors: readonly Detector<any, any>[];
  /** The policy; default: every detector enabled with its defaults, 5 s lateness. */
  rules?: RuleSet;
  onFinding(f: Finding): void;
  /** An event refused for its event time (a hostile clock), with the `at` given to push (a line number). */
  onOutOfBounds?(r: OutOfBounds): void;
  /**
   * How long (event time behind the watermark) an eventId is remembered; default the longest `…Ms`
   * parameter, at most 24 h (a "memory" of 90 days must not keep every id), plus the lateness.
   */
  dedupeHorizonMs?: number;
}

/** Redeliveries come within minutes; a day of ids is plenty and keeps memory flat. */
export const MAX_DEDUPE_WINDOW_MS = 86_400_000;

/** An event refused for its time: where it was (`at`, e.g. a line number), why, and what was wrong. */
export interface OutOfBounds {
  at: number;
  eventId: string;
  reason: OutOfBoundsReason;
  detail: string;
}

/** Counters of a run. */
export interface ReplayStats {
  /** New events read (duplicates excluded; out-of-bounds and held ones included). */
  events: number;
  duplicates: number;
  findings: number;
  /** Events refused for their time. */
  outOfBounds: number;
  /** Events still held at the end (their time neither confirmed nor refuted by enough later events). */
  heldAtEnd: number;
  /** Decisions not due by the last watermark, that settling at the end would make findings (finish with `undecided`). */
  undecided: number;
}

/** How `finish` ends a replay. */
export interface FinishOptions {
  /**
   * Receives, apart from the findings, what settling every pending decision at +Infinity finds: decisions
   * not due by the input's last watermark (undecided). Without it they are findings, as if time went on
   * with no other event.
   */
  undecided?(f: Finding): void;
  /** Receives each event still held at the end, with its `at` (they never run). */
  held?(h: OutOfBounds): void;
  /** Called once the input's events have all run, before the pending decisions are settled. */
  beforeSettle?(): void;
}

/** How long an eventId is remembered by default: the longest `…Ms` parameter, at most a day, plus the lateness. */
export function dedupeHorizonOf(rules: RuleSet): number {
  return Math.min(rules.longestWindowMs, MAX_DEDUPE_WINDOW_MS) + rules.latenessMs;
}

/**
 * The dedupe of a replay: remembers eventIds for `horizonMs` behind the engine's watermark. An id is
 * filed under its event time, but never before the watermark, so a far-past event's id is remembered
 * as long as any other (and a redelivery of it is a duplicate, as live). ReplayEngine.push runs it first.
 */
export class ReplayDedupe {
  private readonly dedupe: EventDedupe;
  private watermark = -Infinity;

  constructor(_latenessMs: number, horizonMs: number) {
    this.dedupe = new EventDedupe(horizonMs);
  }

  /** Remembered eventIds. */
  get size(): number {
    return this.dedupe.size;
  }

  /** True for a new eventId (now remembered); false for a redelivery. */
  admit(e: ValidEvent): boolean {
    return this.dedupe.add(e.eventId, e.ts > this.watermark ? e.ts : this.watermark);
  }

  /** The watermark moved: ids past the horizon behind it are forgotten. */
  advance(watermark: number): void {
    if (watermark > this.watermark) {
      this.watermark = watermark;
      this.dedupe.forgetBefore(watermark);
    }
  }
}

/**
 * The pure engine of `vigil replay` and unit tests: in-memory slices, dedupe on eventId, the event-time
 * guard (hostile clocks: EventTimeGuard), event-time watermark, timers, expiry. Feed events with `push`,
 * then call `finish` to end the input.
 */
export class ReplayEngine {
  readonly runner: SliceRunner;
  readonly stats: ReplayStats = { events: 0, duplicates: 0, findings: 0, outOfBounds: 0, heldAtEnd: 0, undecided: 0 };
  private readonly dedupe: ReplayDedupe;
  private readonly guard: EventTimeGuard<number>;
  private readonly verdicts: GuardOutput<number>;
  private emit: (f: Finding) => void;

  constructor(opts: ReplayEngineOptions) {
    const rules = opts.rules ?? createRuleSet({ detectors: opts.detectors });
    const stats = this.stats;
    this.emit = (f) => {
      stats.findings++;
      opts.onFinding(f);
    };
    this.runner = new SliceRunner({ detectors: opts.detectors, rules, eventsUnique: true, onFinding: (f) => this.emit(f) }); // this.dedupe admits each eventId once
    this.dedupe = new ReplayDedupe(rules.latenessMs, opts.dedupeHorizonMs ?? dedupeHorizonOf(rules));
    this.guard = new EventTimeGuard<number>(rules.eventTime);
    const runner = this.runner;
    const onOut = opts.onOutOfBounds;
    this.verdicts = {
      accept: (e) => runner.process(e),
      refuse(e, at, reason, detail) {
        stats.outOfBounds++;
        onOut?.({ at, eventId: e.eventId, reason, detail });
      },
    };
  }

  get watermark(): number {
    return this.runner.watermark;
  }

  /** Events held by the guard right now (their time not yet confirmed). */
  get held(): number {
    return this.guard.held.length;
  }

  /** Slices and remembered eventIds held in memory. */
  get memory(): { slices: number; eventIds: number } {
    return { slices: this.runner.sliceCount, eventIds: this.dedupe.size };
  }

  /** Runs one event (`at`: where it came from, e.g. its line, for reports); a redelivered eventId is counted and ignored. */
  push(e: ValidEvent, at = 0): void {
    if (!this.dedupe.admit(e)) {
      this.stats.duplicates++;
      return;
    }
    this.stats.events++;
    this.guard.offer(e, at, this.verdicts);
    this.dedupe.advance(this.runner.watermark);
  }

  /**
   * Ends the input. An input too short to confirm its own clock runs its largest agreeing group
   * (EventTimeGuard.settleBootstrap); events still held then never run (reported to `opts.held`). Then
   * every pending decision is settled (watermark +Infinity): as findings, or apart through
   * `opts.undecided` (see FinishOptions). Frees all state.
   */
  finish(opts: FinishOptions = {}): void {
    this.guard.settleBootstrap(this.verdicts);
    for (const h of this.guard.held) {
      this.stats.heldAtEnd++;
      opts.held?.({ at: h.payload, eventId: h.event.eventId, reason: 'too_far_ahead', detail: heldDetail(h.event.ts, this.guard.reference, this.runner.rules.eventTime.jumpQuorum, h.yes, h.no) });
    }
    // A late event may have filed a decision already due: it is due by the last watermark, so a finding.
    this.runner.settleDue();
    opts.beforeSettle?.();
    const undecided = opts.undecided;
    if (undecided) {
      const stats = this.stats;
      this.emit = (f) => {
        stats.undecided++;
        undecided(f);
      };
    }
    this.runner.finish();
  }
}

function heldDetail(ts: number, ref: number, quorum: number, yes: number, no: number): string {
  return `occurredAt ${new Date(ts).toISOString()} is ahead of the newest event time accepted (${ref > -Infinity ? new Date(ref).toISOString() : 'none yet'}) by more than maxFutureSkewMs; the input ended before ${quorum} later events confirmed it (${yes}) or refuted it (${no})`;
}

/** Runs events through a fresh engine and returns every finding (tests, small fixtures). */
export function replayAll(detectors: readonly Detector<any, any>[], events: Iterable<ValidEvent>, rules?: RuleSet): Finding[] {
  const out: Finding[] = [];
  const engine = new ReplayEngine({ detectors, ...(rules ? { rules } : {}), onFinding: (f) => out.push(f) });
  for (const e of events) engine.push(e);
  engine.finish();
  return out;
}
