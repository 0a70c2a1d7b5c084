import type { ChainableCommander } from 'ioredis';
import type { Finding } from '../../processors/core/finding.ts';
import type { RedisClient } from '../redis/connection.ts';
import type { KeyBuilder } from '../redis/keys.ts';
import { commandName } from '../redis/scripts.ts';
import { DetectionStoreError } from './detection-store-error.ts';

/** How many hash tags detector state is spread over (each with its own timer set). */
export const DETECTOR_STATE_BUCKETS = 16;

/**
 * Per partition (`<topic>/<partition>`), what a redelivered batch needs from a slice that an earlier
 * attempt saved: the eventId the batch started with (`a`), the last event of it applied to this
 * slice's saved state (`z`), and the slice's findings in that batch (`f`).
 */
export type BatchMarks = Record<string, { a: string; z: string; f: Finding[] }>;

/** A slice as Redis holds it (state undefined when the key does not exist). */
export interface StoredSlice {
  version: number;
  state: unknown;
  matchKey: string;
  marks: BatchMarks;
}

/** A slice to write: `state` undefined deletes it. */
export interface SliceWrite {
  kind: string;
  key: string;
  expectedVersion: number;
  state: unknown;
  matchKey: string;
  marks: BatchMarks;
  ttlMs: number;
  due: number | undefined;
}

/** One partition's watermark and when (Redis time, ms) its last batch saved it. */
export interface PartitionWatermark {
  partition: string;
  watermark: number;
  at: number;
}

/** What `SliceStore.load` returns. */
export interface LoadResult {
  slices: StoredSlice[];
  /** Due timers: [<kind>:<key>, due event time]. */
  due: [string, number][];
  partitions: PartitionWatermark[];
  /** Redis's clock (ms). */
  now: number;
}

/** A slice address: the kind and key the detector gave. */
export interface SliceRef {
  kind: string;
  key: string;
}

/**
 * Detector state in Redis: loads and saves many slices in one pipelined round trip (one pipeline per
 * hash tag on a Cluster, sent together), with an optimistic version check per slice (saveSlice-2.lua),
 * due timers in a sorted set per bucket, and the shared watermark (advanceWatermark-1.lua).
 */
export class SliceStore {
  private readonly redis: RedisClient;
  private readonly keys: KeyBuilder;
  private readonly timeoutMs: number;
  private readonly cluster: boolean;

  constructor(redis: RedisClient, keys: KeyBuilder, opts: { commandTimeoutMs?: number } = {}) {
    this.redis = redis;
    this.keys = keys;
    this.timeoutMs = opts.commandTimeoutMs ?? 5000;
    this.cluster = (redis as { isCluster?: boolean }).isCluster === true;
  }

  /** The bucket (hash tag) of a slice. */
  bucketOf(kind: string, key: string): number {
    return fnv1a(kind + ':' + key) % DETECTOR_STATE_BUCKETS;
  }

  sliceKey(ref: SliceRef): string {
    return this.keys.detectorSlice(this.bucketOf(ref.kind, ref.key), ref.kind, ref.key);
  }

  /**
   * One round trip: the slices, every partition's watermark with Redis's clock and, when `dueUpTo` is
   * given, the timer members (`<kind>:<key>`) due at or before it, with their due times.
   */
  async load(refs: readonly SliceRef[], dueUpTo?: number): Promise<LoadResult> {
    const batch = this.batch();
    batch.add('wm', (p) => p.hgetall(this.keys.detectorWatermarks()));
    batch.add('wm', (p) => p.time());
    for (const r of refs) {
      const b = this.bucketOf(r.kind, r.key);
      batch.add(String(b), (p) => p.hmget(this.keys.detectorSlice(b, r.kind, r.key), 'v', 's', 'k', 'm'));
    }
    if (dueUpTo !== undefined && dueUpTo > -Infinity) {
      const max = dueUpTo === Infinity ? '+inf' : String(dueUpTo);
      for (let b = 0; b < DETECTOR_STATE_BUCKETS; b++) {
        batch.add(String(b), (p) => p.zrangebyscore(this.keys.detectorTimers(b), '-inf', max, 'WITHSCORES'));
      }
    }
    const res = await batch.exec('load detector state');
    const all = (res[0] ?? {}) as Record<string, string>;
    const time = res[1] as [string, string];
    const partitions = Object.entries(all).map(([partition, v]) => {
      const [wm, at] = v.split('|');
      return { partition, watermark: Number(wm), at: Number(at) };
    });
    const slices = refs.map((_, i) => parseSlice(res[i + 2] as (string | null)[]));
    const due: [string, number][] = [];
    for (let i = refs.length + 2; i < res.length; i++) {
      const flat = res[i] as string[];
      for (let j = 0; j < flat.length; j += 2) due.push([flat[j]!, Number(flat[j + 1])]);
    }
    return { slices, due, partitions, now: Number(time[0]) * 1000 + Math.floor(Number(time[1]) / 1000) };
  }

  /** One round trip: every write through saveSlice-2.lua. Returns per write the new version, 0 (deleted) or −1 (conflict). */
  async save(writes: readonly SliceWrite[]): Promise<number[]> {
    if (writes.length === 0) return [];
    const batch = this.batch();
    const cmd = commandName('saveSlice');
    for (const w of writes) {
      const b = this.bucketOf(w.kind, w.key);
      const args = [
        this.keys.detectorSlice(b, w.kind, w.key),
        this.keys.detectorTimers(b),
        String(w.expectedVersion),
        w.state === undefined ? '' : JSON.stringify(w.state),
        w.matchKey,
        JSON.stringify(w.marks),
        String(Math.max(1, Math.round(w.ttlMs))),
        w.due === undefined ? '' : String(w.due),
        w.kind + ':' + w.key,
      ];
      batch.add(String(b), (p) => (p as unknown as Record<string, (...a: string[]) => void>)[cmd]!(...args));
    }
    return (await batch.exec('save detector state')) as number[];
  }

  /** Moves a partition's watermark forward (never back) and marks the partition active. */
  async advanceWatermark(partition: string, watermark: number): Promise<void> {
    if (!Number.isFinite(watermark)) return;
    const batch = this.batch();
    const cmd = commandName('advanceWatermark');
    const args = [this.keys.detectorWatermarks(), partition, String(Math.floor(watermark))];
    batch.add('wm', (p) => (p as unknown as Record<string, (...a: string[]) => void>)[cmd]!(...args));
    await batch.exec('save the watermark');
  }

  private batch(): GroupedPipeline {
    return new GroupedPipeline(this.redis, this.cluster, this.timeoutMs);
  }
}

function parseSlice(r: (string | null)[]): StoredSlice {
  const [v, s, k, m] = r;
  if (v === null || v === undefined || s === null || s === undefined) return { version: 0, state: undefined, matchKey: '', marks: {} };
  return { version: Number(v), state: JSON.parse(s), matchKey: k ?? '', marks: m ? (JSON.parse(m) as BatchMarks) : {} };
}

/**
 * Commands grouped by hash tag: one pipeline on a single node; on a Cluster one pipeline per tag (every
 * key of a tag is in one slot), all sent at once. Results come back in the order they were added.
 */
class GroupedPipeline {
  private readonly groups = new Map<string, { pipe: ChainableCommander; at: number[] }>();
  private n = 0;
  private readonly redis: RedisClient;
  private readonly cluster: boolean;
  private readonly timeoutMs: number;

  constructor(redis: RedisClient, cluster: boolean, timeoutMs: number) {
    this.redis = redis;
    this.cluster = cluster;
    this.timeoutMs = timeoutMs;
  }

  add(tag: string, build: (p: ChainableCommander) => void): void {
    const g = this.cluster ? tag : '';
    let group = this.groups.get(g);
    if (!group) {
      group = { pipe: this.redis.pipeline(), at: [] };
      this.groups.set(g, group);
    }
    build(group.pipe);
    group.at.push(this.n++);
  }

  async exec(what: string): Promise<unknown[]> {
    const out: unknown[] = new Array(this.n);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new DetectionStoreError(`Redis did not answer within ${this.timeoutMs} ms (${what})`)), this.timeoutMs);
    });
    try {
      await Promise.race([
        Promise.all(
          [...this.groups.values()].map(async ({ pipe, at }) => {
            const res = await pipe.exec();
            if (res === null) throw new DetectionStoreError(`Redis pipeline was discarded (${what})`);
            res.forEach(([err, value], i) => {
              if (err) throw err;
              out[at[i]!] = value;
            });
          }),
        ),
        timeout,
      ]);
    } catch (e) {
      if (e instanceof DetectionStoreError) throw e;
      throw new DetectionStoreError(`Redis failed to ${what}: ${(e as Error).message}`, e);
    } finally {
      clearTimeout(timer);
    }
    return out;
  }
}

/** 32-bit FNV-1a of a string's UTF-16 code units: a stable, cheap bucket hash. */
function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}
