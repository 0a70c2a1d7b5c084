import { setTimeout as sleep } from 'node:timers/promises';
import type { Detector } from '../../processors/core/detector.ts';
import type { ValidEvent } from '../../processors/core/events.ts';
import type { Finding } from '../../processors/core/finding.ts';
import type { RuleSet } from '../../processors/engine/rule-set.ts';
import { sliceId, SliceRunner, type Slot } from '../../processors/engine/slice-runner.ts';
import type { BatchContext, BatchHandler } from '../ingest/batch-handler.ts';
import type { Policy } from '../policy/load-policy.ts';
import type { RedisClient } from '../redis/connection.ts';
import type { KeyBuilder } from '../redis/keys.ts';
import { DetectionStoreError } from './detection-store-error.ts';
import { EventProcessingError } from '../errors/vigil-error.ts';
import type { FindingSink } from './finding-sink.ts';
import { SliceStore, type SliceRef, type SliceWrite, type StoredSlice } from './slice-store.ts';

export interface DetectionHandlerOptions {
  redis: RedisClient;
  keys: KeyBuilder;
  /** The policy, or a holder of the running one (read at the start of every batch). */
  policy: Policy | { current(): Policy };
  detectors: readonly Detector<any, any>[];
  sink: FindingSink;
  /** A Redis round trip that takes longer fails the batch (retriable). Default 5000 ms. */
  commandTimeoutMs?: number;
  /** Conflict re-runs of a batch before it fails (retriable). Default 50. */
  maxConflictRetries?: number;
  /** Longest TTL of a slice key, whatever its expiresAt says. Default 30 days. */
  maxTtlMs?: number;
  /**
   * A partition with no batch for this long (Redis clock) is idle and no longer holds the watermark
   * back. Default 30 s.
   */
  idlePartitionMs?: number;
  /**
   * Partitions of the input topic (config kafka.partitions). A partition that has not reported a
   * watermark yet holds the others back until it has been quiet for idlePartitionMs since this
   * handler's first batch; without this, only partitions seen so far count.
   */
  expectedPartitions?: number;
}

/** Counters a metrics module can read. */
export interface DetectionStats {
  batches: number;
  events: number;
  findings: number;
  slicesLoaded: number;
  slicesSaved: number;
  conflicts: number;
  /** Slices skipped because a previous attempt of the same batch had saved them. */
  replayedSlices: number;
}

interface Loaded {
  ref: SliceRef & { det: number };
  stored: StoredSlice;
}

/**
 * The live engine: runs the detectors on each Kafka batch with state in Redis, shared by every monitor
 * instance. Per batch: one pipelined round trip loads every slice the batch touches, the partitions'
 * watermarks and the due timers (a second one loads due slices the batch does not touch); the pure engine's
 * SliceRunner runs the events exactly as `vigil replay` does; one round trip saves the changed slices,
 * each through saveSlice-2.lua with a version check. A slice another instance changed meanwhile is
 * reloaded and its events run again (its findings from the failed attempt are dropped). Findings go to
 * the sink, then the partition's watermark moves. The detectors run by the lowest watermark of the
 * partitions that are not idle (as stream processors do), so a partition that runs ahead never settles a
 * decision that a slower partition's events could still answer.
 *
 * Retrying is idempotent: each saved slice remembers, per partition, the first and last eventId of the
 * batch that saved it and its findings in that batch. A redelivered batch (it starts with the same
 * event, whatever its length) does not apply those events to that slice again, and sends those
 * findings again (the sink ignores repeats).
 */
export function createDetectionHandler(opts: DetectionHandlerOptions): BatchHandler & { readonly stats: DetectionStats } {
  const store = new SliceStore(opts.redis, opts.keys, { commandTimeoutMs: opts.commandTimeoutMs ?? 5000 });
  const detectors = opts.detectors;
  const kindIndex = new Map(detectors.map((d, i) => [d.kind as string, i]));
  const maxRetries = opts.maxConflictRetries ?? 50;
  const maxTtlMs = opts.maxTtlMs ?? 30 * 86_400_000;
  const idleMs = opts.idlePartitionMs ?? 30_000;
  const firstBatchAt = new Map<string, number>(); // topic → Redis time of this handler's first batch
  const current = (): Policy => ('current' in opts.policy ? opts.policy.current() : opts.policy);
  const stats: DetectionStats = { batches: 0, events: 0, findings: 0, slicesLoaded: 0, slicesSaved: 0, conflicts: 0, replayedSlices: 0 };

  const refOf = (id: string): (SliceRef & { det: number }) | undefined => {
    const at = id.indexOf(':');
    const det = kindIndex.get(id.slice(0, at));
    return at > 0 && det !== undefined ? { kind: id.slice(0, at), key: id.slice(at + 1), det } : undefined;
  };

  async function handle(events: readonly ValidEvent[], ctx: BatchContext): Promise<void> {
    if (events.length === 0) return;
    const rules = current().rules;
    const partKey = `${ctx.topic}/${ctx.partition}`;

    // Which slices the batch touches, and how far the watermark can move.
    const refs = new Map<string, SliceRef & { det: number }>();
    let maxTs = -Infinity;
    for (const e of events) {
      if (e.ts > maxTs) maxTs = e.ts;
      const rs = rules.rulesFor(rules.matchKey(e));
      for (let i = 0; i < detectors.length; i++) {
        if (rs[i] === undefined) continue;
        const d = detectors[i]!;
        const key = d.keyOf(e);
        if (key === undefined) continue;
        const id = sliceId(d.kind, key);
        if (!refs.has(id)) refs.set(id, { kind: d.kind, key, det: i });
      }
    }
    const first = await store.load([...refs.values()], maxTs - rules.latenessMs);
    // The watermark: this partition's, held back by the slowest other partition that is not idle.
    let own = -Infinity;
    let cap = Infinity;
    for (const p of first.partitions) {
      if (p.partition === partKey) own = p.watermark;
      else if (first.now - p.at <= idleMs && p.watermark < cap) cap = p.watermark;
    }
    if (opts.expectedPartitions !== undefined) {
      if (!firstBatchAt.has(ctx.topic)) firstBatchAt.set(ctx.topic, first.now);
      const known = new Set(first.partitions.map((p) => p.partition));
      for (let i = 0; i < opts.expectedPartitions; i++) {
        const k = `${ctx.topic}/${i}`;
        if (k !== partKey && !known.has(k) && first.now - firstBatchAt.get(ctx.topic)! <= idleMs) cap = -Infinity;
      }
    }
    const startWm = Math.min(own, cap);
    const reach = Math.min(cap, Math.max(own, maxTs - rules.latenessMs));
    const loaded = new Map<string, Loaded>();
    [...refs.entries()].forEach(([id, ref], i) => loaded.set(id, { ref, stored: first.slices[i]! }));
    const dueIds = new Set(first.due.filter(([, due]) => due <= reach).map(([id]) => id));
    const dueOthers = [...dueIds].filter((id) => !refs.has(id)).map((id) => refOf(id)).filter((r) => r !== undefined);
    if (dueOthers.length > 0) {
      const more = await store.load(dueOthers);
      dueOthers.forEach((ref, i) => loaded.set(sliceId(ref.kind, ref.key), { ref, stored: more.slices[i]! }));
    }
    stats.slicesLoaded += loaded.size;

    // A redelivered batch (same first event: ingest commits only after success) may find slices that an
    // earlier attempt saved: their events up to the one that attempt ended with are not applied again,
    // and their findings from it are sent again (the sink ignores repeats).
    const batchStart = events[0]!.eventId;
    const batchEnd = events[events.length - 1]!.eventId;
    const indexOf = new Map<string, number>();
    events.forEach((e, i) => indexOf.set(e.eventId, i));
    const applied = new Map<string, { upTo: number; f: Finding[] }>();
    const noteApplied = () => {
      applied.clear();
      for (const [id, l] of loaded) {
        const mark = l.stored.marks[partKey];
        if (l.stored.state === undefined || mark === undefined || mark.a !== batchStart) continue;
        applied.set(id, { upTo: indexOf.get(mark.z) ?? events.length - 1, f: mark.f });
      }
    };
    noteApplied();
    stats.replayedSlices += applied.size;

    const findingsOf = new Map<string, Finding[]>();
    let pending: ReadonlySet<string> | undefined; // undefined: the first pass runs every slice
    for (let attempt = 0; ; attempt++) {
      const only = pending;
      const at = { i: 0 };
      const admit =
        only === undefined && applied.size === 0
          ? undefined
          : (id: string) => (only === undefined || only.has(id)) && !((applied.get(id)?.upTo ?? -1) >= at.i);
      const { runner, found } = runPass(rules, loaded, startWm, cap, events, admit, only, at);
      const writes: SliceWrite[] = [];
      const ids: string[] = [];
      for (const slot of runner.touched) {
        const d = detectors[slot.det]!;
        const id = sliceId(d.kind, slot.key);
        const before = applied.get(id)?.f ?? [];
        const mine = [...before, ...(found.get(slot) ?? [])];
        findingsOf.set(id, mine);
        if (slot.dropped && slot.version === 0) continue; // never stored, nothing to delete (its findings still count)
        const stored = loaded.get(id)?.stored;
        ids.push(id);
        writes.push({
          kind: d.kind,
          key: slot.key,
          expectedVersion: slot.version,
          state: slot.dropped ? undefined : slot.state,
          matchKey: slot.matchKey,
          // the saved state holds every event of this batch for the slice: a redelivery skips them all
          marks: { ...stored?.marks, [partKey]: { a: batchStart, z: batchEnd, f: mine } },
          ttlMs: slot.dropped ? 1 : ttlOf(d.expiresAt(slot.state), runner.watermark, rules.latenessMs, maxTtlMs),
          due: Number.isFinite(slot.due) ? slot.due : undefined,
        });
      }
      // Slices not run again: their earlier findings still go out.
      for (const [id, a] of applied) if (!findingsOf.has(id) && (only === undefined || only.has(id))) findingsOf.set(id, a.f);
      // Timers whose slice expired from Redis: remove them.
      if (attempt === 0 && dueIds.size > 0) {
        const touchedIds = new Set(ids);
        for (const [id, l] of loaded) {
          if (l.stored.version === 0 && dueIds.has(id) && !touchedIds.has(id)) {
            ids.push(id);
            writes.push({ kind: l.ref.kind, key: l.ref.key, expectedVersion: 0, state: undefined, matchKey: '', marks: {}, ttlMs: 1, due: undefined });
          }
        }
      }
      const results = await store.save(writes);
      const conflicts = new Set<string>();
      results.forEach((r, i) => {
        if (r === -1) conflicts.add(ids[i]!);
        else stats.slicesSaved++;
      });
      if (conflicts.size === 0) break;
      stats.conflicts += conflicts.size;
      if (attempt >= maxRetries) {
        throw new DetectionStoreError(`${conflicts.size} detector state slices kept changing under this batch after ${maxRetries} re-runs (e.g. ${[...conflicts][0]})`);
      }
      // A short random pause so two instances that keep colliding on a hot slice fall out of step.
      await sleep(Math.random() * Math.min(50, 2 ** attempt));
      const again = [...conflicts].map((id) => loaded.get(id)!.ref);
      const fresh = await store.load(again);
      again.forEach((ref, i) => loaded.set(sliceId(ref.kind, ref.key), { ref, stored: fresh.slices[i]! }));
      for (const id of conflicts) findingsOf.delete(id);
      noteApplied();
      pending = conflicts;
    }

    const byId = new Map<string, Finding>();
    for (const list of findingsOf.values()) for (const f of list) byId.set(f.findingId, f);
    const findings = [...byId.values()].sort((a, b) => a.detectedAt.localeCompare(b.detectedAt) || a.findingId.localeCompare(b.findingId));
    if (findings.length > 0) await opts.sink.publish(findings);
    await store.advanceWatermark(partKey, Math.max(own, maxTs - rules.latenessMs));
    stats.batches++;
    stats.events += events.length;
    stats.findings += findings.length;
  }

  /** Runs the batch over the loaded slices; `at.i` is the index of the event being applied (for admit). */
  function runPass(
    rules: RuleSet,
    loaded: Map<string, Loaded>,
    watermark: number,
    cap: number,
    events: readonly ValidEvent[],
    admit: ((id: string) => boolean) | undefined,
    only: ReadonlySet<string> | undefined,
    at: { i: number },
  ) {
    const found = new Map<Slot, Finding[]>();
    const runner = new SliceRunner({
      detectors,
      rules,
      watermark,
      watermarkCap: cap,
      track: true,
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
    for (let i = 0; i < events.length; i++) {
      at.i = i;
      try {
        runner.process(events[i]!);
      } catch (e) {
        // Pure code threw (a detector bug this event triggers); nothing of this attempt is saved yet.
        throw new EventProcessingError(events[i]!.eventId, 'a detector', e);
      }
    }
    // Slices that exist in Redis but were not preloaded (absent state) start at version 0; a preloaded
    // slice keeps its version for the check.
    return { runner, found };
  }

  return { handle, stats };
}

/** TTL of a slice key: the event time left until it expires, plus the lateness and a minute of slack. */
function ttlOf(expiresAt: number, watermark: number, latenessMs: number, maxTtlMs: number): number {
  const left = Number.isFinite(expiresAt) && Number.isFinite(watermark) ? expiresAt - watermark : maxTtlMs;
  return Math.min(maxTtlMs, Math.max(0, left) + latenessMs + 60_000);
}
