import type { Detector } from '../../processors/core/detector.ts';
import type { ValidEvent } from '../../processors/core/events.ts';
import type { Finding } from '../../processors/core/finding.ts';
import type { RuleSet } from '../../processors/engine/rule-set.ts';
import { sliceId, SliceRunner } from '../../processors/engine/slice-runner.ts';
import { EventProcessingError } from '../errors/vigil-error.ts';
import type { RedisClient } from '../redis/connection.ts';
import type { KeyBuilder } from '../redis/keys.ts';
import { withTimeout } from '../errors/timeout.ts';
import { DetectionStoreError } from './detection-store-error.ts';
import { parseRecords } from './slice-store.ts';

/**
 * Partition-resident detector state (docs/live-engine.md, "partition-resident state"): the slices of the
 * partition-local detectors (their key holds the userId, the input's Kafka key, so one partition feeds
 * each) live in a SliceRunner that stays with the partition between batches, as replay's runner does.
 * There is no load, version check or marker per slice: after each pass the slices it changed are written
 * to the partition's hash in the same script call as the partition's record (savePartition-3.lua), whose
 * version fences them. A runner is trusted only while the record's version is the one it wrote or read;
 * otherwise (another instance ran the partition, a pass failed, the policy changed) it is restored from
 * the hash.
 */
export class ResidentPartition {
  readonly runner: SliceRunner;
  /** The partition record's version this state matches. */
  version: number;
  /** Highest Kafka offset of the partition's batch events the state holds (−Infinity: none known). */
  offset: number;
  /** First and last eventId of the batch it last took (batches without offsets: tests, hand-made). */
  first: string;
  last: string;
  /** Findings the runner made since the caller last took them. */
  private found: Finding[] = [];

  constructor(detectors: readonly Detector<any, any>[], rules: RuleSet, enabled: readonly boolean[], version: number) {
    // each event once: the ingest dedupe by eventId, then `offset` (a redelivered batch's events this state holds are skipped)
    this.runner = new SliceRunner({ detectors, rules, track: true, enabled, eventsUnique: true, onFinding: (f) => void this.found.push(f) });
    this.version = version;
    this.offset = -Infinity;
    this.first = '';
    this.last = '';
  }

  /**
   * Runs one pass's events (in the guard's order; `i` ≥ 0 is the index of a batch event, < 0 a released
   * held event) by the partition's own event time, first moving the watermark to `from`, after them to
   * `advanceTo`. A redelivered batch's events this state already holds are skipped: by offset, or
   * without offsets by the batch's first eventId. Returns the findings made.
   */
  run(run: readonly { e: ValidEvent; i: number }[], o: { from: number; advanceTo?: number; offsets?: readonly number[] | undefined; events: readonly ValidEvent[] }): Finding[] {
    const runner = this.runner;
    runner.advance(o.from);
    const byOffset = o.offsets !== undefined; // batchOffsets (detection-pass.ts): one per batch event
    const redelivered = !byOffset && this.first !== '' && o.events[0]?.eventId === this.first;
    const upTo = redelivered ? o.events.findIndex((e) => e.eventId === this.last) : -1;
    for (const { e, i } of run) {
      if (i >= 0 && (byOffset ? o.offsets![i]! <= this.offset : i <= upTo)) continue;
      try {
        runner.process(e);
      } catch (err) {
        throw new EventProcessingError(e.eventId, 'a detector', err);
      }
    }
    if (o.advanceTo !== undefined) runner.advance(o.advanceTo);
    runner.settleDue();
    if (byOffset) for (const x of o.offsets!) if (x > this.offset) this.offset = x;
    if (o.events.length > 0) {
      this.first = o.events[0]!.eventId;
      this.last = o.events.at(-1)!.eventId;
    }
    return this.found.splice(0);
  }

  /**
   * What the pass changed, as savePartition-3.lua takes it: field/value pairs to set (slices and marks)
   * and fields to delete (slices dropped that the hash holds).
   */
  changes(): { sets: string[]; dels: string[]; written: number } {
    const detectors = this.runner.detectors;
    const sets: string[] = [];
    const dels: string[] = [];
    for (const slot of this.runner.takeTouched()) {
      const id = sliceId(detectors[slot.det]!.kind, slot.key);
      if (slot.dropped) {
        if (slot.version !== 0) dels.push(id);
      } else {
        const json = JSON.stringify(slot.state);
        sets.push(id, '{"s":' + json + ',"k":' + JSON.stringify(slot.matchKey) + '}');
        slot.version = 1; // the hash holds it
        this.runner.freeze(slot, json); // kept as the string just written until used again
      }
    }
    const written = sets.length / 2;
    if (Number.isFinite(this.offset)) sets.push('~o', String(this.offset));
    if (this.first !== '') sets.push('~a', this.first, '~z', this.last);
    return { sets, dels, written };
  }

  /**
   * Decisions pending after `after` (event time), by anomaly kind. All of them (−Infinity, what the
   * metrics ask every 10 s) come from the runner's counts: a walk over every slot held (a million and
   * more) would stop the event loop for as long.
   */
  pendingByKind(after: number, counts: Record<string, number>): void {
    if (after === -Infinity) {
      this.runner.detectors.forEach((d, i) => {
        const n = this.runner.pendingOf(i);
        if (n > 0) counts[d.kind] = (counts[d.kind] ?? 0) + n;
      });
      return;
    }
    for (const slot of this.runner.allSlots()) {
      if (slot.due > after && slot.due < Infinity) {
        const kind = this.runner.detectors[slot.det]!.kind;
        counts[kind] = (counts[kind] ?? 0) + 1;
      }
    }
  }
}

/** Which detectors keep their state resident with the partition (partition-local ones), by index. */
export function residentMask(detectors: readonly Detector<any, any>[]): boolean[] {
  return detectors.map((d) => d.partitionLocal === true);
}

/**
 * Reads a partition's resident state from its hash (HSCAN in chunks, so a large one never blocks Redis),
 * with the record's version read before and after: a version that moved meanwhile (another instance
 * saved the partition) reads again, at most three times. Fails (retriable) when the version is not the
 * one the pass loaded.
 */
export async function restoreResident(o: {
  redis: RedisClient;
  keys: KeyBuilder;
  partition: string;
  detectors: readonly Detector<any, any>[];
  rules: RuleSet;
  enabled: readonly boolean[];
  expectedVersion: number;
  timeoutMs: number;
}): Promise<{ resident: ResidentPartition; slices: number }> {
  const kindIndex = new Map(o.detectors.map((d, i) => [d.kind as string, i]));
  const hash = o.keys.detectorResident(o.partition);
  const versionNow = async (): Promise<number> => {
    const v = await withTimeout(o.redis.hget(o.keys.detectorWatermarks(), o.partition), o.timeoutMs, 'read the partition record');
    return v === null ? 0 : (parseRecords({ [o.partition]: v }).partitions[0]?.version ?? 0);
  };
  for (let attempt = 0; attempt < 3; attempt++) {
    const before = await versionNow();
    if (before !== o.expectedVersion) break;
    const resident = new ResidentPartition(o.detectors, o.rules, o.enabled, before);
    let slices = 0;
    let cursor = '0';
    do {
      const [next, flat] = await withTimeout(o.redis.hscan(hash, cursor, 'COUNT', 1000), o.timeoutMs, 'restore resident detector state');
      cursor = next;
      for (let j = 0; j < flat.length; j += 2) {
        const field = flat[j]!;
        const value = flat[j + 1]!;
        if (field === '~o') resident.offset = Number(value);
        else if (field === '~a') resident.first = value;
        else if (field === '~z') resident.last = value;
        else {
          const at = field.indexOf(':');
          const det = kindIndex.get(field.slice(0, at));
          // a kind no longer run, or no longer partition-local: its slice is left to the hash's TTL
          if (at <= 0 || det === undefined || !o.enabled[det]) continue;
          const { s, k } = JSON.parse(value) as { s: unknown; k: string };
          const slot = resident.runner.preload({ det, key: field.slice(at + 1), state: s, matchKey: k, version: 1 });
          if (!slot.touched) resident.runner.freeze(slot, JSON.stringify(s));
          slices++;
        }
      }
    } while (cursor !== '0');
    if ((await versionNow()) === before) return { resident, slices };
  }
  throw new DetectionStoreError(`the resident state of ${o.partition} changed while it was read (another instance runs the partition)`);
}

/** Counters of the resident state, for metrics. */
export interface ResidentStats {
  /** Partitions restored from their hash (a new owner, a failed pass, a policy change). */
  restores: number;
  /** Slices read by those restores. */
  restoredSlices: number;
  /** Slices written to, and deleted from, the partitions' hashes. */
  written: number;
  deleted: number;
}

/**
 * The resident state of the partitions this instance runs, one ResidentPartition each, restored when
 * the one held does not match the partition record a pass loaded.
 */
export class ResidentStates {
  readonly mask: readonly boolean[];
  /** Whether any detector keeps its state resident (none: every pass skips this). */
  readonly any: boolean;
  readonly stats: ResidentStats = { restores: 0, restoredSlices: 0, written: 0, deleted: 0 };
  private readonly held = new Map<string, { resident: ResidentPartition; rules: RuleSet }>();
  private readonly o: { redis: RedisClient; keys: KeyBuilder; detectors: readonly Detector<any, any>[]; timeoutMs: number };

  constructor(o: { redis: RedisClient; keys: KeyBuilder; detectors: readonly Detector<any, any>[]; timeoutMs: number }) {
    this.o = o;
    this.mask = residentMask(o.detectors);
    this.any = this.mask.some(Boolean);
  }

  /** The partition's state as of record version `version`, restored from Redis unless held as such. */
  async get(partition: string, version: number, rules: RuleSet): Promise<ResidentPartition | undefined> {
    if (!this.any) return undefined;
    const h = this.held.get(partition);
    if (h !== undefined && h.resident.version === version && h.rules === rules) return h.resident;
    this.held.delete(partition);
    const { resident, slices } = await restoreResident({ ...this.o, partition, rules, enabled: this.mask, expectedVersion: version });
    this.stats.restores++;
    this.stats.restoredSlices += slices;
    this.held.set(partition, { resident, rules });
    return resident;
  }

  /** The state held for a partition, if any (not checked against Redis). */
  peek(partition: string): ResidentPartition | undefined {
    return this.held.get(partition)?.resident;
  }

  /** Forgets a partition's state (a pass failed after changing it, or the partition went elsewhere). */
  drop(partition: string): void {
    this.held.delete(partition);
  }

  /** Keeps only the partitions `keep` says. */
  retain(keep: (partition: string) => boolean): void {
    for (const p of [...this.held.keys()]) if (!keep(p)) this.held.delete(p);
  }

  /** Slices held in memory, every partition (or those of `topic`'s partitions). */
  sliceCount(topic?: string): number {
    let n = 0;
    for (const [partition, { resident }] of this.held) if (topic === undefined || partition.startsWith(topic + '/')) n += resident.runner.sliceCount;
    return n;
  }

  pendingByKind(after: number, counts: Record<string, number>): void {
    for (const { resident } of this.held.values()) resident.pendingByKind(after, counts);
  }
}
