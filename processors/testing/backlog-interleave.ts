import type { Detector } from '../core/detector.ts';
import type { ValidEvent } from '../core/events.ts';
import type { Finding } from '../core/finding.ts';
import { createRuleSet, type RuleSet } from '../engine/rule-set.ts';
import { SliceRunner } from '../engine/slice-runner.ts';

/**
 * What the live monitor does with a backlog, offline and without I/O: the input split into partitions
 * by userId (as the producer keys it), each partition consumed in chunks round-robin (so partitions are
 * far apart in event time, but each in its own order), and the detectors run by the live watermark,
 * the lowest over partitions of (newest event time − lateness) (docs/event-time.md). No event is ever
 * behind that watermark, so whatever differs from the same events in time order comes from arrival
 * order alone.
 */

/** The partition of a userId: FNV-1a of the key modulo `partitions` (any split by userId will do). */
export function partitionOf(userId: string, partitions: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < userId.length; i++) {
    h ^= userId.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) % partitions;
}

export interface InterleaveOptions {
  /** Default 6. */
  partitions?: number;
  /** Events per partition per turn (a fetch), default 500. */
  chunk?: number;
}

/**
 * The events in the order a backlog delivers them: partition by partition, `chunk` events at a time,
 * round-robin. Returns, for each event, its partition too.
 */
export function backlogOrder<T extends ValidEvent>(events: readonly T[], opts: InterleaveOptions = {}): { e: T; p: number }[] {
  const partitions = opts.partitions ?? 6;
  const chunk = opts.chunk ?? 500;
  const queues: T[][] = Array.from({ length: partitions }, () => []);
  for (const e of events) queues[partitionOf(e.userId, partitions)]!.push(e);
  const out: { e: T; p: number }[] = [];
  const at = new Array<number>(partitions).fill(0);
  let left = events.length;
  while (left > 0) {
    for (let p = 0; p < partitions; p++) {
      const q = queues[p]!;
      const end = Math.min(q.length, at[p]! + chunk);
      for (let i = at[p]!; i < end; i++) out.push({ e: q[i]!, p });
      left -= end - at[p]!;
      at[p] = end;
    }
  }
  return out;
}

/**
 * Runs the pure engine over events in the given order; with `partitionOf` given, by the live watermark
 * (the lowest partition's newest − lateness; a partition that has not spoken holds it at −∞ until the
 * end), else by the single-stream watermark of replay. Redelivered eventIds are ignored (the engines'
 * dedupe). Every pending decision is settled at the end.
 */
export function runInOrder(
  detectors: readonly Detector<any, any>[],
  rules: RuleSet,
  events: readonly { e: ValidEvent; p?: number }[],
  partitions?: number,
  opts: { idleAfter?: number } = {},
): Finding[] {
  const out: Finding[] = [];
  const live = partitions !== undefined;
  const runner = new SliceRunner({ detectors, rules, onFinding: (f) => out.push(f), ...(live ? { watermarkCap: -Infinity } : {}) });
  const seen = new Set<string>();
  const newest = new Array<number>(partitions ?? 0).fill(-Infinity);
  const spokeAt = new Array<number>(partitions ?? 0).fill(0);
  const idleAfter = opts.idleAfter ?? Infinity;
  let n = 0;
  for (const { e, p } of events) {
    n++;
    if (seen.has(e.eventId)) continue;
    seen.add(e.eventId);
    if (live) {
      if (e.ts > newest[p!]!) newest[p!] = e.ts;
      spokeAt[p!] = n;
      // The live rule: the lowest newest of the active partitions; with `idleAfter`, a partition that
      // has sent nothing for that many events (a stand-in for idlePartitionMs of wall clock) stops
      // holding it back, and the watermark never goes back when it speaks again (its events are late).
      let low = Infinity;
      for (let q = 0; q < newest.length; q++) if (n - spokeAt[q]! <= idleAfter && newest[q]! < low) low = newest[q]!;
      runner.advance(low - rules.latenessMs);
    }
    runner.process(e);
  }
  runner.finish();
  return out;
}

/** Findings of two runs compared by findingId: counts by kind and what only one side has. */
export interface Comparison {
  a: number;
  b: number;
  byKind: Record<string, { a: number; b: number }>;
  onlyA: Finding[];
  onlyB: Finding[];
}

export function compareFindings(a: readonly Finding[], b: readonly Finding[]): Comparison {
  const byKind: Record<string, { a: number; b: number }> = {};
  for (const f of a) (byKind[f.kind] ??= { a: 0, b: 0 }).a++;
  for (const f of b) (byKind[f.kind] ??= { a: 0, b: 0 }).b++;
  const ia = new Set(a.map((f) => f.findingId));
  const ib = new Set(b.map((f) => f.findingId));
  return { a: a.length, b: b.length, byKind, onlyA: a.filter((f) => !ib.has(f.findingId)), onlyB: b.filter((f) => !ia.has(f.findingId)) };
}

/**
 * A random merge of partitions, each kept in its own order: repeatedly a random partition that has
 * events left gives the next 1..`maxRun` of them. Any interleaving a set of consumers can produce
 * (partitions hours apart included), with no event behind the live watermark. Deterministic for `rnd`.
 */
export function randomMerge<T>(partitions: readonly (readonly T[])[], rnd: () => number, maxRun: number): { e: T; p: number }[] {
  const at = partitions.map(() => 0);
  const out: { e: T; p: number }[] = [];
  for (;;) {
    const open = partitions.map((q, p) => p).filter((p) => at[p]! < partitions[p]!.length);
    if (open.length === 0) return out;
    const p = open[Math.floor(rnd() * open.length)]!;
    const q = partitions[p]!;
    const end = Math.min(q.length, at[p]! + 1 + Math.floor(rnd() * maxRun));
    for (let i = at[p]!; i < end; i++) out.push({ e: q[i]!, p });
    at[p] = end;
  }
}

/**
 * For detector tests: runs `detectors` (their defaults, 5 s lateness) over `[partition, event]` pairs in
 * the order given, by the live watermark over the partitions named, and over the same events in event
 * time order; returns both runs' findings, to compare.
 */
export function liveAndTimeOrder(detectors: readonly Detector<any, any>[], seq: readonly (readonly [number, ValidEvent])[]): { live: Finding[]; ordered: Finding[] } {
  const rules = createRuleSet({ detectors });
  const partitions = Math.max(...seq.map(([p]) => p)) + 1;
  const live = runInOrder(detectors, rules, seq.map(([p, e]) => ({ e, p })), partitions);
  const ordered = runInOrder(detectors, rules, [...seq].map(([, e]) => e).sort((a, b) => a.ts - b.ts).map((e) => ({ e })));
  return { live, ordered };
}
