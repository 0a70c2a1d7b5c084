import { setTimeout as sleep } from 'node:timers/promises';
import type { Detector } from '../../processors/core/detector.ts';
import type { ValidEvent } from '../../processors/core/events.ts';
import type { Finding } from '../../processors/core/finding.ts';
import type { RuleSet } from '../../processors/engine/rule-set.ts';
import { sliceId, SliceRunner, type Slot } from '../../processors/engine/slice-runner.ts';
import { DetectionStoreError } from './detection-store-error.ts';
import type { BatchMarks, SliceRef, SliceStore, SliceWrite, StoredSlice } from './slice-store.ts';
import type { SliceCache } from './slice-cache.ts';
import { splitState, wholeState } from './slice-parts.ts';
import { EventProcessingError } from '../errors/vigil-error.ts';

/** A slice loaded for a pass. */
export interface Loaded {
  ref: SliceRef & { det: number };
  stored: StoredSlice;
  /**
   * Not read from Redis in this pass: 'cache', as this instance last saved it (SliceCache); 'absent',
   * not held here and so taken not to exist. Either guess is checked by the save's version check.
   */
  from?: 'cache' | 'absent';
}

/** What a pass does per slice (redelivery skips, marks to save); refreshed after conflicted slices are reloaded. */
export interface PassPlan {
  /** May event `i` of the pass apply to this slice (false: an earlier attempt already applied it)? */
  admit(id: string, i: number): boolean;
  /** Findings this slice made in an earlier attempt of the same pass (sent again). */
  earlier(id: string): Finding[];
  /** The marks to save with the slice, given its findings in this pass. */
  marks(id: string, stored: StoredSlice | undefined, findings: Finding[]): BatchMarks;
  /** These slices were reloaded (another instance changed them): look at their marks again. */
  refresh(ids: ReadonlySet<string>): void;
  /** Whether admit/earlier can skip anything (false: every event applies everywhere, the fast path). */
  readonly skips: boolean;
}

export interface PassInput {
  rules: RuleSet;
  detectors: readonly Detector<any, any>[];
  /** The detectors this pass runs, by index (default all): live, the shared ones (resident-state.ts runs the others). */
  enabled?: readonly boolean[];
  store: SliceStore;
  loaded: Map<string, Loaded>;
  /** Watermark the runner starts at, and the most the events may move it to. */
  watermark: number;
  cap: number;
  events: readonly ValidEvent[];
  /** After the events, move the watermark to this (the settle pass of idle partitions). */
  advanceTo?: number;
  /** Timer members found due: those whose slice is gone from Redis are removed. */
  dueIds: ReadonlySet<string>;
  plan: PassPlan;
  maxRetries: number;
  maxTtlMs: number;
  stats: { slicesSaved: number; conflicts: number; slicesLoaded: number };
  /** The slices this instance holds: updated with every slice saved, told of every wrong guess. */
  cache?: SliceCache;
  /** The input partition of the pass (`<topic>/<partition>`); undefined for a tick's settle pass. */
  partition?: string;
  /** Redis time (ms) of the pass's first load: when its findings are filed as unsent. */
  now?: number;
}

/**
 * Runs one pass of the live engine — the pure SliceRunner over slices loaded from Redis, exactly as
 * `vigil replay` runs them — and saves every changed slice with its version check. A slice another
 * instance changed meanwhile is reloaded and its events run again (its findings from the failed attempt
 * dropped), up to `maxRetries` times. Each saved slice's new findings are filed as unsent in the same
 * script call (saveSlices-n.lua): the caller acknowledges them once published (`bySlice` says which
 * slice, hence which bucket, holds each), and a tick sends what a failed or killed pass left behind.
 * Returns the findings (one per id), the watermark reached, and the findings per slice id.
 */
export async function runAndSave(input: PassInput): Promise<{ findings: Finding[]; watermark: number; bySlice: ReadonlyMap<string, Finding[]> }> {
  const { detectors, store, loaded, plan } = input;
  const findingsOf = new Map<string, Finding[]>();
  let only: ReadonlySet<string> | undefined; // undefined: the first run covers every slice
  let watermark = input.watermark;
  for (let attempt = 0; ; attempt++) {
    const { runner, found } = runOnce(input, only);
    watermark = runner.watermark;
    const writes: SliceWrite[] = [];
    const ids: string[] = [];
    for (const slot of runner.touched) {
      const d = detectors[slot.det]!;
      const id = sliceId(d.kind, slot.key);
      const mine = [...plan.earlier(id), ...(found.get(slot) ?? [])];
      findingsOf.set(id, mine);
      const l = loaded.get(id);
      // never stored, nothing to delete (its findings still count); a slice only taken to be absent is
      // deleted with version 0 expected, which checks the guess
      if (slot.dropped && slot.version === 0 && l?.from !== 'absent') continue;
      const stored = l?.stored;
      const expiresAt = slot.dropped ? Infinity : d.expiresAt(slot.state);
      // a windowed kind is stored in parts, so only the buckets that changed since what Redis holds are
      // written; whole when other instances write it too (each reads it on every pass: slice-parts.ts)
      const split = slot.dropped || d.windowField === undefined ? undefined
        : input.cache?.isContended(id) === true ? wholeState(slot.state) : splitState(slot.state, d.windowField);
      ids.push(id);
      writes.push({
        kind: d.kind,
        key: slot.key,
        expectedVersion: slot.version,
        state: slot.dropped ? undefined : slot.state,
        matchKey: slot.matchKey,
        marks: plan.marks(id, stored, mine),
        ttlMs: slot.dropped ? 1 : ttlOf(expiresAt, runner.watermark, input.rules.latenessMs, input.maxTtlMs),
        // no watermark yet: the longest TTL for now, lowered by a tick once the watermark is known
        ...(Number.isFinite(expiresAt) && !Number.isFinite(runner.watermark) ? { boundAt: expiresAt } : {}),
        due: Number.isFinite(slot.due) ? slot.due : undefined,
        // a slice taken to be absent, or held here without a timer, has no timer member to remove
        timer: l?.from === 'absent' ? false : l?.from === 'cache' ? (input.cache?.hasTimer(id) ?? true) : true,
        // filed as unsent with the state that made them: published later by a tick if this pass never does
        findings: found.get(slot) ?? [],
        ...(split !== undefined ? { split: { head: split.head, parts: split.parts, before: stored?.parts } } : {}),
      });
    }
    // Slices not run again: their earlier findings still go out.
    for (const id of loaded.keys()) if (!findingsOf.has(id) && (only === undefined || only.has(id))) {
      const e = plan.earlier(id);
      if (e.length > 0) findingsOf.set(id, e);
    }
    // Timers whose slice expired from Redis: remove them.
    if (attempt === 0 && input.dueIds.size > 0) {
      const touchedIds = new Set(ids);
      for (const [id, l] of loaded) {
        if (l.stored.version === 0 && input.dueIds.has(id) && !touchedIds.has(id)) {
          ids.push(id);
          writes.push({ kind: l.ref.kind, key: l.ref.key, expectedVersion: 0, state: undefined, matchKey: '', marks: {}, ttlMs: 1, due: undefined });
        }
      }
    }
    const savedAt = Date.now();
    const results = await store.save(writes, input.now ?? savedAt);
    const conflicts = new Set<string>();
    const cache = input.cache;
    results.forEach((r, i) => {
      const id = ids[i]!;
      if (r === -1) {
        conflicts.add(id);
        // held here, yet changed elsewhere: written by other instances too (a guess of absence was only cold)
        if (loaded.get(id)?.from === 'cache') cache?.contend(id);
        return;
      }
      input.stats.slicesSaved++;
      if (cache === undefined) return;
      const w = writes[i]!;
      if (r === 0 || w.state === undefined) cache.delete(id);
      else cache.put(id, { version: r, state: w.state, matchKey: w.matchKey, marks: w.marks, ...(w.split !== undefined ? { parts: w.split.parts } : {}) }, detectors[loaded.get(id)?.ref.det ?? detectors.findIndex((d) => d.kind === w.kind)]!.expiresAt(w.state), savedAt + w.ttlMs, w.due !== undefined, input.partition ?? '');
    });
    if (conflicts.size === 0) break;
    input.stats.conflicts += conflicts.size;
    if (attempt >= input.maxRetries) {
      throw new DetectionStoreError(`${conflicts.size} detector state slices kept changing under this batch after ${input.maxRetries} re-runs (e.g. ${[...conflicts][0]})`);
    }
    // A short random pause so two instances that keep colliding on a hot slice fall out of step.
    await sleep(Math.random() * Math.min(50, 2 ** attempt));
    const again = [...conflicts].map((id) => loaded.get(id)!.ref);
    const fresh = await store.load(again);
    input.stats.slicesLoaded += again.length;
    again.forEach((ref, i) => loaded.set(sliceId(ref.kind, ref.key), { ref, stored: fresh.slices[i]! }));
    for (const id of conflicts) findingsOf.delete(id);
    plan.refresh(conflicts);
    only = conflicts;
  }
  const byId = new Map<string, Finding>();
  for (const list of findingsOf.values()) for (const f of list) byId.set(f.findingId, f);
  return { findings: byTimeAndId([...byId.values()]), watermark, bySlice: findingsOf };
}

/** Findings in the order they are published: by detectedAt, then findingId. Sorts in place. */
export function byTimeAndId(findings: Finding[]): Finding[] {
  return findings.sort((a, b) => a.detectedAt.localeCompare(b.detectedAt) || a.findingId.localeCompare(b.findingId));
}

/**
 * The Kafka offset of each batch event (`offsets[i]` of `events[i]`, from the messages ingest passes
 * along), or undefined when they cannot tell a redelivery (batches made by hand, a message missing): then
 * the batch's first and last eventIds do. batchPlan and the resident state take it from here alike.
 */
export function batchOffsets(events: readonly ValidEvent[], messages: readonly ({ offset: string } | undefined)[] | undefined): number[] | undefined {
  if (messages?.length !== events.length) return undefined;
  const offsets = messages.map((m) => Number(m?.offset));
  return offsets.every(Number.isSafeInteger) ? offsets : undefined;
}

/**
 * What a redelivered batch or a re-released held event may find in a slice an earlier attempt saved.
 *
 * With the events' Kafka offsets (`offsets[i]` of `events[i]`, as ingest passes them): the mark's `o` is
 * the highest offset of this partition the saved state holds, so a batch event at or below it is not
 * applied again, and a pass that holds such an event is a redelivery: the mark's findings are sent again.
 * This holds whatever the redelivered batch's boundaries: Kafka may redeliver from an older committed
 * offset after a rejoin, merged with a batch whose dedupe mark was lost, or split elsewhere (issue 12: a
 * save that timed out in a Redis outage and ran when Redis came back, its findings never published, then
 * a redelivery starting at another event, which the first-eventId check took for a new batch: its events
 * applied twice and its findings lost).
 *
 * Without offsets (batches made by hand): a redelivery is known by its first eventId (`a`), and batch
 * events up to the one that attempt ended with (`z`) are not applied again. Either way the held events
 * it released (`h`) are not applied again.
 */
export function batchPlan(
  partKey: string,
  events: readonly ValidEvent[],
  run: readonly { e: ValidEvent; i: number }[],
  loaded: Map<string, Loaded>,
  /** From batchOffsets: present only when every batch event has its offset. */
  offsets?: readonly number[],
): PassPlan & { replayed: number } {
  const batchStart = events[0]?.eventId ?? '';
  const batchEnd = events.at(-1)?.eventId ?? '';
  const byOffset = offsets !== undefined;
  let lowest = Infinity;
  let highest = -Infinity;
  if (byOffset) for (const o of offsets) {
    if (o < lowest) lowest = o;
    if (o > highest) highest = o;
  }
  const indexOf = new Map<string, number>();
  events.forEach((e, i) => indexOf.set(e.eventId, i));
  const released = run.filter((r) => r.i < 0).map((r) => r.e.eventId);
  // upTo: by offset, the highest offset already applied; else the index of the last batch event applied
  const applied = new Map<string, { upTo: number; h: Set<string>; f: Finding[] }>();
  let replayed = 0; // slices found already saved by an earlier attempt (first loads and conflict reloads)
  const note = (ids: Iterable<string>) => {
    for (const id of ids) {
      const l = loaded.get(id);
      const mark = l?.stored.marks[partKey];
      applied.delete(id);
      if (l === undefined || l.stored.state === undefined || mark === undefined) continue;
      if (byOffset && mark.o !== undefined) {
        const again = lowest <= mark.o;
        if (!again && !mark.h?.length) continue;
        applied.set(id, { upTo: mark.o, h: new Set(mark.h ?? []), f: again ? mark.f : [] });
      } else {
        const same = batchStart !== '' && mark.a === batchStart;
        if (!same && !mark.h?.length) continue;
        applied.set(id, { upTo: same ? (indexOf.get(mark.z) ?? events.length - 1) : -1, h: new Set(mark.h ?? []), f: same ? mark.f : [] });
      }
      replayed++;
    }
  };
  note(loaded.keys());
  return {
    get replayed() {
      return replayed;
    },
    get skips() {
      return applied.size > 0;
    },
    admit(id, i) {
      const a = applied.get(id);
      if (a === undefined) return true;
      const r = run[i]!;
      if (r.i < 0) return !a.h.has(r.e.eventId);
      return byOffset ? offsets![r.i]! > a.upTo : r.i > a.upTo;
    },
    earlier: (id) => applied.get(id)?.f ?? [],
    marks: (_id, stored, findings) => {
      // the state holds every event up to the highest offset it ever took (never lowered by a tick or a shorter redelivery)
      const o = Math.max(stored?.marks[partKey]?.o ?? -Infinity, highest);
      return { ...stored?.marks, [partKey]: { a: batchStart, z: batchEnd, f: findings, ...(released.length > 0 ? { h: released } : {}), ...(Number.isFinite(o) ? { o } : {}) } };
    },
    refresh: note,
  };
}

/** Runs the events over the loaded slices (only the `only` ones on a conflict re-run). */
function runOnce(input: PassInput, only: ReadonlySet<string> | undefined) {
  const { plan, loaded } = input;
  const found = new Map<Slot, Finding[]>();
  const at = { i: 0 };
  const admit = only === undefined && !plan.skips ? undefined : (id: string) => (only === undefined || only.has(id)) && plan.admit(id, at.i);
  const runner = new SliceRunner({
    detectors: input.detectors,
    rules: input.rules,
    watermark: input.watermark,
    watermarkCap: input.cap,
    track: true,
    eventsUnique: true, // the ingest dedupe by eventId, then the plan's marks: a slice takes a redelivered batch's events once
    ...(input.enabled ? { enabled: input.enabled } : {}),
    ...(admit ? { admit } : {}),
    onFinding(f, slot) {
      const list = found.get(slot);
      if (list) list.push(f);
      else found.set(slot, [f]);
    },
  });
  for (const [id, l] of loaded) {
    if (l.stored.state === undefined || (only !== undefined && !only.has(id))) continue;
    runner.preload({ det: l.ref.det, key: l.ref.key, state: l.stored.state, matchKey: l.stored.matchKey, version: l.stored.version });
  }
  const events = input.events;
  for (let i = 0; i < events.length; i++) {
    at.i = i;
    try {
      runner.process(events[i]!);
    } catch (e) {
      // Pure code threw (a detector bug this event triggers); nothing of this attempt is saved yet.
      throw new EventProcessingError(events[i]!.eventId, 'a detector', e);
    }
  }
  if (input.advanceTo !== undefined) {
    runner.advance(Math.min(input.advanceTo, input.cap));
    runner.settleDue();
  }
  return { runner, found };
}

/**
 * TTL of a slice key: the event time left until it expires, plus the lateness and a minute of slack;
 * the longest (`maxTtlMs`) when either is not known.
 */
export function ttlOf(expiresAt: number, watermark: number, latenessMs: number, maxTtlMs: number): number {
  const left = Number.isFinite(expiresAt) && Number.isFinite(watermark) ? expiresAt - watermark : maxTtlMs;
  return Math.min(maxTtlMs, Math.max(0, left) + latenessMs + 60_000);
}

