import type { Detector } from '../core/detector.ts';
import type { ValidEvent } from '../core/events.ts';
import type { Finding } from '../core/finding.ts';
import { EventDedupe } from './event-dedupe.ts';
import { createRuleSet, type RuleSet } from './rule-set.ts';
import { SliceRunner } from './slice-runner.ts';

export interface ReplayEngineOptions {
  detectors: readonly Detector<any, any>[];
  /** The policy; default: every detector enabled with its defaults, 5 s lateness. */
  rules?: RuleSet;
  onFinding(f: Finding): void;
  /**
   * How long (event time behind the watermark) an eventId is remembered; default the longest `…Ms`
   * parameter, at most 24 h (a "memory" of 90 days must not keep every id), plus the lateness.
   */
  dedupeHorizonMs?: number;
}

/** Redeliveries come within minutes; a day of ids is plenty and keeps memory flat. */
export const MAX_DEDUPE_WINDOW_MS = 86_400_000;

/** Counters of a run. */
export interface ReplayStats {
  events: number;
  duplicates: number;
  findings: number;
}

/** How long an eventId is remembered by default: the longest `…Ms` parameter, at most a day, plus the lateness. */
export function dedupeHorizonOf(rules: RuleSet): number {
  return Math.min(rules.longestWindowMs, MAX_DEDUPE_WINDOW_MS) + rules.latenessMs;
}

/**
 * The dedupe of a replay: remembers eventIds for `horizonMs` behind the watermark that the events it
 * admits move (as in replay: the highest occurredAt seen, minus the lateness). ReplayEngine.push runs
 * it before the detectors.
 */
export class ReplayDedupe {
  private readonly dedupe: EventDedupe;
  private readonly latenessMs: number;
  private watermark = -Infinity;

  constructor(latenessMs: number, horizonMs: number) {
    this.latenessMs = latenessMs;
    this.dedupe = new EventDedupe(horizonMs);
  }

  /** Remembered eventIds. */
  get size(): number {
    return this.dedupe.size;
  }

  /** True for a new eventId (now remembered, the watermark moved by the event); false for a redelivery. */
  admit(e: ValidEvent): boolean {
    if (!this.dedupe.add(e.eventId, e.ts)) return false;
    const watermark = e.ts - this.latenessMs;
    if (watermark > this.watermark) {
      this.watermark = watermark;
      this.dedupe.forgetBefore(watermark);
    }
    return true;
  }
}

/**
 * The pure engine of `vigil replay` and unit tests: in-memory slices, dedupe on eventId, event-time
 * watermark, timers, expiry. Feed events with `push`, then call `finish` to settle what is pending.
 */
export class ReplayEngine {
  readonly runner: SliceRunner;
  readonly stats: ReplayStats = { events: 0, duplicates: 0, findings: 0 };
  private readonly dedupe: ReplayDedupe;

  constructor(opts: ReplayEngineOptions) {
    const rules = opts.rules ?? createRuleSet({ detectors: opts.detectors });
    const onFinding = opts.onFinding;
    const stats = this.stats;
    this.runner = new SliceRunner({
      detectors: opts.detectors,
      rules,
      onFinding(f) {
        stats.findings++;
        onFinding(f);
      },
    });
    this.dedupe = new ReplayDedupe(rules.latenessMs, opts.dedupeHorizonMs ?? dedupeHorizonOf(rules));
  }

  get watermark(): number {
    return this.runner.watermark;
  }

  /** Slices and remembered eventIds held in memory. */
  get memory(): { slices: number; eventIds: number } {
    return { slices: this.runner.sliceCount, eventIds: this.dedupe.size };
  }

  /** Runs one event; a redelivered eventId is counted and ignored. */
  push(e: ValidEvent): void {
    if (!this.dedupe.admit(e)) {
      this.stats.duplicates++;
      return;
    }
    this.stats.events++;
    this.runner.process(e);
  }

  /** Settles every pending decision (watermark +Infinity) and frees all state. */
  finish(): void {
    this.runner.finish();
  }
}

/** Runs events through a fresh engine and returns every finding (tests, small fixtures). */
export function replayAll(detectors: readonly Detector<any, any>[], events: Iterable<ValidEvent>, rules?: RuleSet): Finding[] {
  const out: Finding[] = [];
  const engine = new ReplayEngine({ detectors, ...(rules ? { rules } : {}), onFinding: (f) => out.push(f) });
  for (const e of events) engine.push(e);
  engine.finish();
  return out;
}
