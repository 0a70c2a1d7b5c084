import type { Detection, Detector, DetectorContext } from '../core/detector.ts';
import type { ValidEvent } from '../core/events.ts';
import type { Finding } from '../core/finding.ts';
import { MinHeap } from './min-heap.ts';
import type { ResolvedRule, RuleSet } from './rule-set.ts';
import { toFinding } from './to-finding.ts';

/** One detector's state slice, as the runner keeps it (in memory, or loaded from Redis for a batch). */
export interface Slot {
  /** Index of the detector in the runner's list. */
  readonly det: number;
  readonly key: string;
  state: unknown;
  /** Event time of the earliest pending decision, +Infinity when none. */
  due: number;
  /** Event time after which the slice is dropped, as last read (re-read when its expiry bucket comes up). */
  exp: number;
  /** Expiry bucket the slot is filed under (internal). */
  expBucket: number;
  /** Match key of the last event applied (so timers resolve the same rule). */
  matchKey: string;
  /** Dropped (expired); a later event on the key starts a fresh slice. */
  dropped: boolean;
  /** Changed since loaded (track mode only: the live store saves these). */
  touched: boolean;
  /** The store's version when loaded; 0 for a slice the store does not have. */
  version: number;
  /**
   * The state as JSON while the slot is frozen (`state` then undefined): a resident runner keeps the
   * slices it saved this way until they are used again, one string each instead of an object graph
   * for the garbage collector to walk. Thawed before any detector call.
   */
  frozen: string | undefined;
}

/** A slot to preload, as the live store read it. */
export interface LoadedSlot {
  det: number;
  key: string;
  state: unknown;
  matchKey: string;
  version: number;
}

export interface SliceRunnerOptions {
  detectors: readonly Detector<any, any>[];
  rules: RuleSet;
  /** Called for every finding, with the slot whose detector made it. */
  onFinding(f: Finding, slot: Slot): void;
  /** Start watermark (live: the one kept in Redis). Default −Infinity. */
  watermark?: number;
  /**
   * Live mode: keep dropped slots (marked) instead of forgetting them, and list every touched slot, so
   * the caller can save or delete them. Replay leaves it off to keep memory flat.
   */
  track?: boolean;
  /**
   * Live mode: whether the slice `<kind>:<key>` runs in this pass (a conflict re-run runs only the
   * conflicted slices; a retried batch skips the slices it already saved). Default: all.
   */
  admit?: (sliceId: string) => boolean;
  /** Width of an expiry bucket in ms of event time (default 60 s). */
  expiryBucketMs?: number;
  /**
   * Live mode: events never move the watermark past this (the lowest watermark of the other active
   * partitions), so a partition that runs ahead cannot settle decisions a slower one still feeds.
   */
  watermarkCap?: number;
  /**
   * Which detectors this runner runs, by index (default: all). Live, a partition's resident runner runs
   * the partition-local ones and each pass's runner the shared ones, over the same events and rules.
   */
  enabled?: readonly boolean[];
  /**
   * The caller applies each eventId at most once (it dedupes upstream): detectors are told so
   * (SettleContext.eventsUnique) and keep no ids to ignore redeliveries. The replay engine and the live
   * engine set it; tests that deliver duplicates to the runner leave it off.
   */
  eventsUnique?: boolean;
}

interface Ctx extends DetectorContext {
  params: any;
  watermark: number;
  rule: ResolvedRule;
  slot: Slot;
}

/**
 * The heart of the engine, shared by `vigil replay` and the live Redis engine: routes each event to the
 * slice each detector keys it to, advances the event-time watermark, fires due timers from a min-heap
 * and drops expired slices bucket by bucket. It does no dedupe and no I/O.
 */
export class SliceRunner {
  readonly detectors: readonly Detector<any, any>[];
  readonly rules: RuleSet;
  private readonly slots: Map<string, Slot>[];
  private readonly ctxs: Ctx[];
  private readonly timers = new MinHeap<Slot>();
  private readonly expiry = new Map<number, Slot[]>();
  private readonly expiryOrder = new MinHeap<number>();
  private readonly bucketMs: number;
  private readonly track: boolean;
  private readonly admit: ((sliceId: string) => boolean) | undefined;
  private readonly onFinding: (f: Finding, slot: Slot) => void;
  /** Slots changed (track mode only), in first-touch order. */
  readonly touched: Slot[] = [];
  watermark: number;
  /** Events never move the watermark past this (see SliceRunnerOptions.watermarkCap); a resident runner's caller sets it per pass. */
  watermarkCap: number;
  private readonly enabled: readonly boolean[] | undefined;
  private readonly eventsUnique: boolean;
  private live = 0;
  /** Per detector, the live slots with a pending decision (due < +Infinity), kept as dues change. */
  private readonly pendingPerDet: number[];

  constructor(opts: SliceRunnerOptions) {
    const kinds = opts.detectors.map((d) => d.kind).join(',');
    if (kinds !== opts.rules.kinds.join(',')) throw new Error(`rule set was built for detectors [${opts.rules.kinds.join(',')}], not [${kinds}]`);
    this.detectors = opts.detectors;
    this.rules = opts.rules;
    this.onFinding = opts.onFinding;
    this.watermark = opts.watermark ?? -Infinity;
    this.watermarkCap = opts.watermarkCap ?? Infinity;
    this.enabled = opts.enabled;
    this.eventsUnique = opts.eventsUnique === true;
    this.track = opts.track ?? false;
    this.admit = opts.admit;
    this.bucketMs = opts.expiryBucketMs ?? 60_000;
    this.slots = opts.detectors.map(() => new Map());
    this.pendingPerDet = opts.detectors.map(() => 0);
    this.ctxs = opts.detectors.map((d) => this.makeCtx(d));
  }

  /** Slices held in memory (dropped ones excluded). */
  get sliceCount(): number {
    return this.live;
  }

  /** Puts a slice read from a store in place before the batch runs. */
  preload(l: LoadedSlot): Slot {
    const d = this.detectors[l.det]!;
    const slot = this.newSlot(l.det, l.key, l.state, l.matchKey);
    slot.version = l.version;
    this.file(slot, d, undefined, false);
    // A decision already due by the watermark the pass starts at is settled first, as `advance` would
    // have: a watermark held back for long (live: a partition that has not spoken yet) can pass a
    // slice's due time and its expiry at once, and dropping it unsettled would lose the decision.
    if (slot.due <= this.watermark) this.fire(slot, this.watermark);
    // Expired by the watermark already: the pure engine would have dropped it by now, so drop it here.
    if ((slot.expBucket + 1) * this.bucketMs <= this.watermark) {
      slot.exp = d.expiresAt(slot.state);
      if (slot.exp < this.watermark) this.drop(slot);
    }
    return slot;
  }

  /** Moves the watermark to this event (settling what that makes due), then applies the event to every enabled detector's slice. */
  process(e: ValidEvent): void {
    const rules = this.rules;
    // The watermark moves first: what this event makes due is settled before the event applies (no
    // event later than a decision's due time can change it), and detectors see the new watermark.
    let wm = e.ts - rules.latenessMs;
    if (wm > this.watermarkCap) wm = this.watermarkCap;
    if (wm > this.watermark) this.advance(wm);
    const watermark = this.watermark;
    const mk = rules.matchKey(e);
    const resolved = rules.rulesFor(mk);
    const detectors = this.detectors;
    const slots = this.slots;
    const admit = this.admit;
    const enabled = this.enabled;
    for (let i = 0; i < detectors.length; i++) {
      const rule = resolved[i];
      if (rule === undefined || (enabled !== undefined && !enabled[i])) continue;
      const d = detectors[i]!;
      const key = d.keyOf(e);
      if (key === undefined) continue;
      if (admit !== undefined && !admit(sliceId(d.kind, key))) continue;
      let slot = slots[i]!.get(key);
      if (slot === undefined) slot = this.newSlot(i, key, d.init(), mk);
      else if (slot.dropped) this.revive(slot, d);
      else if (slot.frozen !== undefined) this.thaw(slot);
      const ctx = this.ctxs[i]!;
      ctx.params = rule.params;
      ctx.rule = rule;
      ctx.slot = slot;
      ctx.watermark = watermark;
      slot.matchKey = mk;
      slot.state = d.onEvent(slot.state, e, ctx);
      this.file(slot, d);
    }
  }

  /** Moves the watermark forward (never back): fires due timers, then drops expired slices. */
  advance(watermark: number): void {
    if (!(watermark > this.watermark)) return;
    this.watermark = watermark;
    this.settleDue();
  }

  /**
   * Fires the timers due by the current watermark, then drops expired slices. `advance` does it as the
   * watermark moves; called alone, it settles decisions filed after the watermark had already passed
   * them (a late event's), which would otherwise wait for the next move.
   */
  settleDue(): void {
    const watermark = this.watermark;
    const timers = this.timers;
    while (timers.size > 0 && timers.peekPriority() <= watermark) {
      const due = timers.peekPriority();
      const slot = timers.pop()!;
      if (slot.dropped || slot.due !== due) continue; // stale entry
      this.fire(slot, watermark);
    }
    const order = this.expiryOrder;
    const bucketMs = this.bucketMs;
    while (order.size > 0 && (order.peekPriority() + 1) * bucketMs <= watermark) {
      const b = order.pop()!;
      const list = this.expiry.get(b)!;
      this.expiry.delete(b);
      const detectors = this.detectors;
      for (const slot of list) {
        if (slot.dropped || slot.expBucket !== b) continue;
        // a frozen slot is read, not thawed: expiresAt changes nothing, and it stays a string if it lives on
        slot.exp = detectors[slot.det]!.expiresAt(slot.frozen !== undefined ? JSON.parse(slot.frozen) : slot.state);
        if (slot.exp < watermark) this.drop(slot);
        else this.fileExpiry(slot); // it lives longer than when filed: file it again
      }
    }
  }

  /**
   * Track mode, for a runner that lives on (a partition's resident runner): the slots changed since the
   * last call, in first-touch order; their touched flags are cleared and the dropped ones forgotten (a
   * later event on the key starts a fresh slot). The caller persists what it gets.
   */
  takeTouched(): Slot[] {
    const out = this.touched.splice(0);
    for (const slot of out) {
      slot.touched = false;
      if (slot.dropped && this.slots[slot.det]!.get(slot.key) === slot) this.slots[slot.det]!.delete(slot.key);
    }
    return out;
  }

  /** Live slots with a pending decision, of detector `det` (counted as dues change: no walk over the slots). */
  pendingOf(det: number): number {
    return this.pendingPerDet[det]!;
  }

  /**
   * Keeps a live slot's state as `json` (its JSON, as the caller just wrote it) until a detector needs
   * it again. Its timer and expiry stay filed; the slot is thawed (parsed) before any detector call.
   */
  freeze(slot: Slot, json: string): void {
    if (slot.dropped) return;
    slot.frozen = json;
    slot.state = undefined;
  }

  private thaw(slot: Slot): void {
    slot.state = JSON.parse(slot.frozen!);
    slot.frozen = undefined;
  }

  /** Every live slot (dropped ones excluded), detector by detector. */
  *allSlots(): IterableIterator<Slot> {
    for (const map of this.slots) for (const slot of map.values()) if (!slot.dropped) yield slot;
  }

  /** Settles everything: fires every pending timer with +Infinity and drops every slice. */
  finish(): void {
    this.advance(Infinity);
  }

  private fire(slot: Slot, watermark: number): void {
    const d = this.detectors[slot.det]!;
    if (!d.onWatermark) return;
    const rule = this.rules.rulesFor(slot.matchKey)[slot.det];
    const ctx = this.ctxs[slot.det]!;
    ctx.slot = slot;
    ctx.rule = rule ?? DISABLED;
    ctx.params = rule?.params ?? d.defaults;
    ctx.watermark = watermark;
    const before = slot.due;
    if (slot.frozen !== undefined) this.thaw(slot);
    slot.state = d.onWatermark(slot.state, watermark, ctx);
    this.file(slot, d, before);
  }

  /** A dropped slot (kept in track mode) that an event uses again: a fresh slice. */
  private revive(slot: Slot, d: Detector<any, any>): void {
    slot.dropped = false;
    slot.state = d.init();
    slot.due = Infinity;
    slot.expBucket = NaN;
    this.live++;
  }

  private newSlot(det: number, key: string, state: unknown, mk: string): Slot {
    const slot: Slot = { det, key, state, due: Infinity, exp: Infinity, expBucket: NaN, matchKey: mk, dropped: false, touched: false, version: 0, frozen: undefined };
    this.slots[det]!.set(key, slot);
    this.live++;
    return slot;
  }

  /** Re-reads a slot's timer and expiry after a change, filing it where needed. */
  private file(slot: Slot, d: Detector<any, any>, firedDue?: number, touch = true): void {
    if (touch && this.track && !slot.touched) {
      slot.touched = true;
      this.touched.push(slot);
    }
    if (d.nextDue === undefined && slot.due === Infinity) {
      if (slot.expBucket !== slot.expBucket) {
        slot.exp = d.expiresAt(slot.state);
        this.fileExpiry(slot);
      }
      return;
    }
    const due = d.nextDue ? (d.nextDue(slot.state) ?? Infinity) : Infinity;
    // A timer that fired and still reports the same due time would loop: wait for the next change.
    if (due !== slot.due || firedDue !== undefined) {
      if ((due === Infinity) !== (slot.due === Infinity)) this.pendingPerDet[slot.det]! += due === Infinity ? -1 : 1;
      slot.due = due;
      if (due !== Infinity && due !== firedDue) this.timers.push(due, slot);
    }
    // Expiry is filed once and re-read only when its bucket comes up (slices live longer as events
    // arrive, rarely shorter): one expiresAt call per slice per bucket, not one per event.
    if (slot.expBucket !== slot.expBucket) {
      slot.exp = d.expiresAt(slot.state);
      this.fileExpiry(slot);
    }
  }

  private fileExpiry(slot: Slot): void {
    const b = Math.floor(slot.exp / this.bucketMs);
    if (!Number.isFinite(b)) {
      slot.expBucket = NaN; // no expiry yet: asked again after the next change
      return;
    }
    slot.expBucket = b;
    let list = this.expiry.get(b);
    if (list === undefined) {
      list = [];
      this.expiry.set(b, list);
      this.expiryOrder.push(b, b);
    }
    list.push(slot);
  }

  private drop(slot: Slot): void {
    slot.dropped = true;
    slot.state = undefined;
    slot.frozen = undefined;
    if (slot.due !== Infinity) this.pendingPerDet[slot.det]!--;
    slot.due = Infinity;
    this.live--;
    if (this.track) {
      if (!slot.touched) {
        slot.touched = true;
        this.touched.push(slot);
      }
    } else {
      this.slots[slot.det]!.delete(slot.key);
    }
  }

  private makeCtx(d: Detector<any, any>): Ctx {
    const runner = this;
    const ctx: Ctx = {
      params: d.defaults,
      watermark: -Infinity,
      rule: DISABLED,
      slot: undefined as unknown as Slot,
      latenessMs: this.rules.latenessMs,
      eventsUnique: this.eventsUnique,
      emit(det: Detection) {
        if (ctx.rule === DISABLED) return; // the rule was disabled since the decision was filed
        runner.onFinding(toFinding(d, ctx.rule, runner.rules.version, det), ctx.slot);
      },
    };
    return ctx;
  }
}

const DISABLED: ResolvedRule = Object.freeze({ ruleId: '(disabled)', mode: 'enabled', severity: undefined, params: {} });

/** The id of a slice across detectors: `<kind>:<key>`. */
export function sliceId(kind: string, key: string): string {
  return kind + ':' + key;
}
