import type { Detection, Detector, Params } from '../core/detector.ts';
import type { ValidEvent } from '../core/events.ts';
import type { AnomalyKind, Severity } from '../core/finding.ts';
import { findingIdOf } from '../core/finding-id.ts';

/** A detection as the engine would publish it, minus policy version and shadow flag. */
export interface TestFinding extends Detection {
  findingId: string;
  kind: AnomalyKind;
  severity: Severity;
}

export interface RunOptions {
  /** Allowed lateness, ms (default 5000, the contract's). */
  latenessMs?: number;
  /** Parameter overrides per kind, merged over each detector's defaults. */
  params?: Partial<Record<AnomalyKind, Params>>;
  /** Settle every pending decision at the end (the end of a replay). Default true. */
  settleAtEnd?: boolean;
}

/** What a run leaves behind, for tests that look at state. */
export interface RunResult {
  findings: TestFinding[];
  /** Slices still held per kind after the run (expired ones dropped). */
  slices: Map<AnomalyKind, Map<string, unknown>>;
}

/**
 * Runs detectors over events the way the engine does: one Map of slices per detector keyed by
 * `keyOf`; after each event the watermark is (highest event time so far − lateness), and every slice
 * whose `nextDue` is at or before it is settled with `onWatermark`; slices whose `expiresAt` the
 * watermark has passed are dropped; at the end every slice is settled with +Infinity. Slices go
 * through a JSON round trip after each change, as they would through Redis, so a slice that is not
 * plain JSON fails here.
 */
export function runDetectors(
  detectors: readonly Detector<any, any>[],
  events: readonly ValidEvent[],
  options: RunOptions = {},
): RunResult {
  const latenessMs = options.latenessMs ?? 5000;
  const findings: TestFinding[] = [];
  const slices = new Map<AnomalyKind, Map<string, unknown>>();
  let maxTs = Number.NEGATIVE_INFINITY;

  const emitter = (d: Detector<any, any>) => (x: Detection) => {
    findings.push({ ...x, kind: d.kind, severity: x.severity ?? d.severity, findingId: findingIdOf(d.kind, x.scope, x.eventIds) });
  };
  const settle = (d: Detector<any, any>, map: Map<string, unknown>, watermark: number) => {
    if (d.onWatermark === undefined) return;
    const ctx = { latenessMs, emit: emitter(d) };
    for (const [key, slice] of map) {
      const due = d.nextDue?.(slice);
      if (due !== undefined && due <= watermark) map.set(key, roundTrip(d.onWatermark(slice, watermark, ctx)));
    }
  };

  for (const e of events) {
    if (e.ts > maxTs) maxTs = e.ts;
    const watermark = maxTs - latenessMs;
    for (const d of detectors) {
      let map = slices.get(d.kind);
      if (map === undefined) slices.set(d.kind, (map = new Map()));
      const key = d.keyOf(e);
      if (key !== undefined) {
        const params = { ...d.defaults, ...options.params?.[d.kind] };
        const slice = map.get(key) ?? d.init();
        map.set(key, roundTrip(d.onEvent(slice, e, { latenessMs, params, emit: emitter(d) })));
      }
      settle(d, map, watermark);
      for (const [key, slice] of map) if (d.expiresAt(slice) < watermark) map.delete(key);
    }
  }
  if (options.settleAtEnd !== false) {
    for (const d of detectors) settle(d, slices.get(d.kind) ?? new Map(), Number.POSITIVE_INFINITY);
  }
  return { findings, slices };
}

function roundTrip<T>(slice: T): T {
  return JSON.parse(JSON.stringify(slice)) as T;
}

/**
 * Reorders events the way several partitions and retries can: each event is delayed by less than the
 * lateness (so none is late), and `duplicates` events chosen at random are delivered a second time,
 * anywhere after their first delivery. Deterministic for a given seed.
 */
export function shuffleWithinLateness<T extends ValidEvent>(events: readonly T[], latenessMs: number, seed: number, duplicates = 0): T[] {
  const rnd = mulberry32(seed);
  const keyed = events.map((e) => ({ e, k: e.ts + Math.floor(rnd() * (latenessMs - 1)) }));
  keyed.sort((a, b) => a.k - b.k);
  const out = keyed.map((x) => x.e);
  for (let n = 0; n < duplicates && events.length > 0; n++) {
    const from = Math.floor(rnd() * out.length);
    const to = from + 1 + Math.floor(rnd() * (out.length - from));
    out.splice(to, 0, out[from]!);
  }
  return out;
}

/** A small seeded PRNG, so shuffled tests are reproducible. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Findings reduced to what must not depend on arrival order, sorted: for comparing two runs. */
export function stable(findings: readonly TestFinding[]): unknown[] {
  return findings
    .map((f) => ({ findingId: f.findingId, kind: f.kind, scope: f.scope, eventIds: [...f.eventIds].sort(), detectedAt: f.detectedAt, summary: f.summary, metrics: f.metrics }))
    .sort((a, b) => (a.findingId < b.findingId ? -1 : a.findingId > b.findingId ? 1 : 0));
}
