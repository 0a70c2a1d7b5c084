import type { Finding } from '../../processors/core/finding.ts';
import type { RedisClient } from '../redis/connection.ts';
import { DETECTOR_STATE_BUCKETS, detectorBucketOf, type KeyBuilder } from '../redis/keys.ts';
import { commandName } from '../redis/scripts.ts';
import { GroupedPipeline } from './grouped-pipeline.ts';
import { diffParts, joinState, type Parts } from './slice-parts.ts';

export { DETECTOR_STATE_BUCKETS };

/**
 * Per partition (`<topic>/<partition>`), what a redelivered batch needs from a slice that an earlier
 * attempt saved: the eventId the batch started with (`a`), the last event of it applied to this
 * slice's saved state (`z`), the highest Kafka offset it holds (`o`), and the slice's findings in that
 * batch (`f`). See batchPlan (detection-pass.ts).
 */
export type BatchMarks = Record<string, BatchMark>;

/**
 * See BatchMarks; `h`: ids of held events the pass released (applied to the saved state, or skipped as
 * already in it); `o`: the highest Kafka offset of the partition's batch events the saved state holds
 * (when the batches came with their messages), which tells a redelivery whatever its boundaries.
 */
export interface BatchMark {
  a: string;
  z: string;
  f: Finding[];
  h?: string[];
  o?: number;
}

/** A slice as Redis holds it (state undefined when the key does not exist). */
export interface StoredSlice {
  version: number;
  state: unknown;
  matchKey: string;
  marks: BatchMarks;
  /** Its parts as Redis holds them, for a slice stored in parts (slice-parts.ts). */
  parts?: Parts;
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
  /** May the slice have a member in its bucket's timer set (default true)? False spares the removal. */
  timer?: boolean;
  /** Findings the pass made on this slice: filed as unsent with it, atomically (only if it is saved). */
  findings?: readonly Finding[];
  /**
   * Its expiry in event time, when `ttlMs` is the longest TTL only because the watermark was not known
   * yet: the slice is filed for `boundTtls` to lower its TTL once it is.
   */
  boundAt?: number;
  /**
   * The state split into parts (slice-parts.ts): `head` is written as the state, the parts that differ
   * from `before` (what Redis holds at the expected version; undefined: nothing known) are set, and
   * those in `before` no longer in `parts` are deleted.
   */
  split?: { head: string; parts: Parts; before: Parts | undefined };
}

/** A finding filed as unsent (saveSlices-n.lua) and not yet acknowledged as published. */
export interface UnsentFinding {
  bucket: number;
  finding: Finding;
  /** Redis time (ms) of the pass that filed it. */
  at: number;
}

/** One input partition's event-time record (savePartition-3.lua). */
export interface PartitionRecord {
  /** `<topic>/<partition>`. */
  partition: string;
  /** Its watermark (ms): newest accepted − lateness; −Infinity before it accepted any event. */
  watermark: number;
  /** Redis time (ms) it last accepted events; −Infinity when never. */
  at: number;
  /** Newest event time it accepted; −Infinity when none. */
  newest: number;
  /** The stream's newest event time as it last read it (the reference of its future bound). */
  stream: number;
  /** Record version (0: no record). */
  version: number;
}

/** What `SliceStore.load` returns. */
export interface LoadResult {
  slices: StoredSlice[];
  /** Due timers: [<kind>:<key>, due event time]. */
  due: [string, number][];
  partitions: PartitionRecord[];
  /** Per topic, the watermark up to which decisions were settled. */
  settled: Map<string, number>;
  /** The held events of the partition asked for (JSON), or null. */
  held: string | null;
  /** Redis's clock (ms). */
  now: number;
}

/** What to write for a partition after its batch (savePartition-3.lua). */
export interface PartitionWrite {
  partition: string;
  expectedVersion: number;
  watermark: number;
  newest: number;
  stream: number;
  /** The batch accepted events: the partition is active (stamped with Redis's clock). */
  active: boolean;
  /** Held events JSON; '' when none; undefined leaves them as they are. */
  held: string | undefined;
  /** The watermark the batch settled decisions up to (the topic's settled watermark never goes back). */
  settled: number;
  /** Changes to the partition's resident state (ResidentPartition.changes), and its hash's TTL. */
  resident?: { sets: readonly string[]; dels: readonly string[]; ttlMs: number };
}

/** A slice address: the kind and key the detector gave. */
export interface SliceRef {
  kind: string;
  key: string;
}

/**
 * Detector state in Redis: loads and saves many slices in one pipelined round trip (one pipeline per
 * hash tag on a Cluster, sent together), with an optimistic version check per slice (saveSlices-n.lua, one call per bucket),
 * due timers in a sorted set per bucket, the findings of saved slices not yet published in a hash per
 * bucket (filed by the same script call, read by `unsent`, removed by `acknowledge`), and each input
 * partition's event-time record and held events (savePartition-3.lua) with the settled watermark
 * (raiseSettled-1.lua).
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
    return detectorBucketOf(kind, key);
  }

  sliceKey(ref: SliceRef): string {
    return this.keys.detectorSlice(this.bucketOf(ref.kind, ref.key), ref.kind, ref.key);
  }

  /**
   * One round trip: the slices, every partition's record with Redis's clock, the held events of
   * `opts.held` (a `<topic>/<partition>`), and the timer members (`<kind>:<key>`) due after `opts.dueFrom`
   * (exclusive; default −Infinity) up to `dueUpTo`, with their due times.
   */
  async load(refs: readonly SliceRef[], dueUpTo?: number, opts: { held?: string; dueFrom?: number } = {}): Promise<LoadResult> {
    const batch = this.batch();
    batch.add('wm', (p) => p.hgetall(this.keys.detectorWatermarks()));
    batch.add('wm', (p) => p.time());
    batch.add('wm', (p) => (opts.held !== undefined ? p.get(this.keys.detectorHeld(opts.held)) : p.echo('')));
    for (const r of refs) {
      const b = this.bucketOf(r.kind, r.key);
      batch.add(String(b), (p) => p.hgetall(this.keys.detectorSlice(b, r.kind, r.key))); // parts and all (slice-parts.ts)
    }
    const from = opts.dueFrom ?? -Infinity;
    if (dueUpTo !== undefined && dueUpTo > -Infinity && dueUpTo > from) {
      const min = from === -Infinity ? '-inf' : `(${from}`;
      const max = dueUpTo === Infinity ? '+inf' : String(dueUpTo);
      for (let b = 0; b < DETECTOR_STATE_BUCKETS; b++) {
        batch.add(String(b), (p) => p.zrangebyscore(this.keys.detectorTimers(b), min, max, 'WITHSCORES'));
      }
    }
    const res = await batch.exec('load detector state');
    const all = (res[0] ?? {}) as Record<string, string>;
    const time = res[1] as [string, string];
    const { partitions, settled } = parseRecords(all);
    const slices = refs.map((_, i) => parseSlice(res[i + 3] as Record<string, string> | null));
    const due: [string, number][] = [];
    for (let i = refs.length + 3; i < res.length; i++) {
      const flat = res[i] as string[];
      for (let j = 0; j < flat.length; j += 2) due.push([flat[j]!, Number(flat[j + 1])]);
    }
    const held = opts.held !== undefined ? ((res[2] as string | null) ?? null) : null;
    return { slices, due, partitions, settled, held, now: Number(time[0]) * 1000 + Math.floor(Number(time[1]) / 1000) };
  }

  /** Every pending timer member (`<kind>:<key>`) due after `after` (exclusive), in one round trip: pending decisions. */
  async pendingTimers(after: number): Promise<string[]> {
    const batch = this.batch();
    const min = after === -Infinity ? '-inf' : `(${after}`;
    for (let b = 0; b < DETECTOR_STATE_BUCKETS; b++) batch.add(String(b), (p) => p.zrangebyscore(this.keys.detectorTimers(b), min, '+inf'));
    return ((await batch.exec('read pending timers')) as string[][]).flat();
  }

  /**
   * One round trip: every write through saveSlices-n.lua, one call per bucket with that bucket's slices
   * (not one script call per slice). Returns per write the new version, 0 (deleted) or −1 (conflict).
   */
  async save(writes: readonly SliceWrite[], filedAt = 0): Promise<number[]> {
    if (writes.length === 0) return [];
    const byBucket = new Map<number, { keys: string[]; args: string[]; at: number[]; filed: string[] }>();
    writes.forEach((w, i) => {
      const b = detectorBucketOf(w.kind, w.key);
      let g = byBucket.get(b);
      if (g === undefined) byBucket.set(b, (g = { keys: [this.keys.detectorTimers(b), this.keys.detectorVersions(b), this.keys.detectorUnsent(b), this.keys.detectorTtlPending(b)], args: [], at: [], filed: [] }));
      g.keys.push(this.keys.detectorSlice(b, w.kind, w.key));
      for (const f of w.findings ?? []) g.filed.push(String(g.at.length + 1), f.findingId, `${Math.floor(filedAt)}|${JSON.stringify(f)}`);
      const parts = w.state === undefined || w.split === undefined ? undefined : diffParts(w.split.before, w.split.parts);
      g.args.push(
        String(w.expectedVersion),
        w.state === undefined ? '' : (w.split?.head ?? JSON.stringify(w.state)),
        w.matchKey,
        w.state === undefined ? '' : JSON.stringify(w.marks), // a deleted slice keeps no marks
        String(Math.max(1, Math.round(w.ttlMs))),
        w.due === undefined ? '' : String(w.due),
        w.kind + ':' + w.key,
        w.timer === false ? '0' : '1',
        w.state !== undefined && w.boundAt !== undefined ? String(Math.floor(w.boundAt)) : '',
        String(parts === undefined ? 0 : parts.set.length / 2),
        String(parts === undefined ? 0 : parts.del.length),
      );
      if (parts !== undefined) for (const x of [parts.set, parts.del]) for (const a of x) g.args.push(a);
      g.at.push(i);
    });
    const batch = this.batch();
    const cmd = commandName('saveSlices');
    const groups = [...byBucket.entries()];
    for (const [b, g] of groups) {
      batch.add(String(b), (p) => (p as unknown as Record<string, (...a: (string | number)[]) => void>)[cmd]!(g.keys.length, ...g.keys, ...g.args, ...g.filed));
    }
    const res = (await batch.exec('save detector state')) as number[][];
    const out = new Array<number>(writes.length);
    groups.forEach(([, g], k) => g.at.forEach((i, j) => (out[i] = res[k]![j]!)));
    return out;
  }

  /**
   * Lowers the TTL of slices saved before the watermark was known (filed in each bucket's
   * `detectorTtlPending` set with their expiry in event time) to what `ttlOf(expiry)` gives now, never
   * raising one (`PEXPIRE … LT`), and removes them from the set: two round trips, at most `limit` slices
   * per bucket. Returns how many were handled and whether any bucket had more left.
   */
  async boundTtls(ttlOf: (expiresAt: number) => number, limit = 2000): Promise<{ bounded: number; more: boolean }> {
    const read = this.batch();
    for (let b = 0; b < DETECTOR_STATE_BUCKETS; b++) {
      read.add(String(b), (p) => p.zrangebyscore(this.keys.detectorTtlPending(b), '-inf', '+inf', 'WITHSCORES', 'LIMIT', 0, limit));
    }
    const res = (await read.exec('read slices with a TTL to bound')) as string[][];
    const write = this.batch();
    let bounded = 0;
    let more = false;
    res.forEach((flat, b) => {
      if (flat.length === 0) return;
      if (flat.length / 2 >= limit) more = true;
      const set = this.keys.detectorTtlPending(b);
      const members: string[] = [];
      for (let j = 0; j < flat.length; j += 2) {
        const member = flat[j]!;
        const at = member.indexOf(':');
        const key = this.keys.detectorSlice(b, member.slice(0, at), member.slice(at + 1));
        write.add(String(b), (p) => p.pexpire(key, Math.max(1, Math.round(ttlOf(Number(flat[j + 1])))), 'LT'));
        members.push(member);
      }
      write.add(String(b), (p) => p.zrem(set, ...members));
      bounded += members.length;
    });
    if (bounded > 0) await write.exec('bound slice TTLs');
    return { bounded, more };
  }

  /** Every finding filed as unsent (one HGETALL per bucket, one round trip), oldest pass first. */
  async unsent(): Promise<UnsentFinding[]> {
    const batch = this.batch();
    for (let b = 0; b < DETECTOR_STATE_BUCKETS; b++) batch.add(String(b), (p) => p.hgetall(this.keys.detectorUnsent(b)));
    const res = (await batch.exec('read unsent findings')) as Record<string, string>[];
    const out: UnsentFinding[] = [];
    res.forEach((all, bucket) => {
      for (const v of Object.values(all ?? {})) {
        const bar = v.indexOf('|');
        out.push({ bucket, at: Number(v.slice(0, bar)), finding: JSON.parse(v.slice(bar + 1)) as Finding });
      }
    });
    return out.sort((x, y) => x.at - y.at || x.finding.findingId.localeCompare(y.finding.findingId));
  }

  /** Removes published findings from the unsent ones (HDEL per bucket, one round trip); `byBucket`: bucket → findingIds. */
  async acknowledge(byBucket: ReadonlyMap<number, readonly string[]>): Promise<void> {
    const batch = this.batch();
    for (const [b, ids] of byBucket) if (ids.length > 0) batch.add(String(b), (p) => p.hdel(this.keys.detectorUnsent(b), ...ids));
    await batch.exec('acknowledge published findings');
  }

  /** Saves a partition's record, held events and resident state (savePartition-3.lua): the new version, or −1 on a conflict. */
  async savePartition(w: PartitionWrite): Promise<number> {
    const batch = this.batch();
    const cmd = commandName('savePartition');
    const int = (x: number) => (Number.isFinite(x) ? String(Math.floor(x)) : '');
    const topic = w.partition.slice(0, w.partition.lastIndexOf('/'));
    const r = w.resident;
    const args = [
      this.keys.detectorWatermarks(), this.keys.detectorHeld(w.partition), this.keys.detectorResident(w.partition),
      w.partition, String(w.expectedVersion), int(w.watermark), int(w.newest), int(w.stream), w.active ? '1' : '0', w.held ?? '~keep', SETTLED_PREFIX + topic, int(w.settled),
      r !== undefined && r.sets.length + r.dels.length > 0 ? String(Math.max(1, Math.round(r.ttlMs))) : '', String((r?.sets.length ?? 0) / 2), ...(r?.sets ?? []), ...(r?.dels ?? []),
    ];
    batch.add('wm', (p) => (p as unknown as Record<string, (...a: string[]) => void>)[cmd]!(...args));
    const [version] = (await batch.exec('save the partition watermark')) as number[];
    return version!;
  }

  /** Moves a topic's settled watermark forward, never back (raiseSettled-1.lua). */
  async raiseSettled(topic: string, watermark: number): Promise<void> {
    if (!Number.isFinite(watermark)) return;
    const batch = this.batch();
    const cmd = commandName('raiseSettled');
    const args = [this.keys.detectorWatermarks(), SETTLED_PREFIX + topic, String(Math.floor(watermark))];
    batch.add('wm', (p) => (p as unknown as Record<string, (...a: string[]) => void>)[cmd]!(...args));
    await batch.exec('save the settled watermark');
  }

  private batch(): GroupedPipeline {
    return new GroupedPipeline(this.redis, this.cluster, this.timeoutMs);
  }
}

/** Field prefix of a topic's settled watermark in the watermarks hash. */
export const SETTLED_PREFIX = '~settled:';

/** The watermarks hash as records (an old `<watermark>|<at>` record reads as version 0). */
export function parseRecords(all: Record<string, string>): { partitions: PartitionRecord[]; settled: Map<string, number> } {
  const partitions: PartitionRecord[] = [];
  const settled = new Map<string, number>();
  const num = (v: string | undefined) => (v === undefined || v === '' ? -Infinity : Number(v));
  for (const [field, v] of Object.entries(all)) {
    if (field.startsWith(SETTLED_PREFIX)) {
      settled.set(field.slice(SETTLED_PREFIX.length), Number(v));
      continue;
    }
    const [wm, at, newest, stream, version] = v.split('|');
    const watermark = num(wm);
    // a record written before newest was kept: its watermark is the best lower bound of it
    const n = newest === undefined ? watermark : num(newest);
    partitions.push({ partition: field, watermark, at: num(at), newest: n, stream: stream === undefined ? n : num(stream), version: Number(version ?? 0) || 0 });
  }
  return { partitions, settled };
}

function parseSlice(r: Record<string, string> | null): StoredSlice {
  const v = r?.v;
  const s = r?.s;
  if (r === null || v === undefined || s === undefined) return { version: 0, state: undefined, matchKey: '', marks: {} };
  const joined = joinState(s, r);
  const m = r.m;
  return { version: Number(v), state: joined.state, matchKey: r.k ?? '', marks: m ? (JSON.parse(m) as BatchMarks) : {}, ...(joined.parts !== undefined ? { parts: joined.parts } : {}) };
}
