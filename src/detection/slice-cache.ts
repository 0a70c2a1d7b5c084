import type { StoredSlice } from './slice-store.ts';

/** A slice as this instance last saved (or loaded) it. */
interface Entry {
  stored: StoredSlice;
  /** Event time after which the slice expires (the detector's expiresAt when saved). */
  exp: number;
  /** When (this process's clock, ms) Redis drops the key: the TTL it was saved with. */
  deadline: number;
  /** Saved with a pending timer (a member in its bucket's timer set). */
  timer: boolean;
  /** The input partition (`<topic>/<partition>`) whose pass saved it last; '' for a tick's settle pass. */
  partition: string;
}

/** A slice no instance has saved (or that expired): version 0, no state. */
export const ABSENT: StoredSlice = Object.freeze({ version: 0, state: undefined, matchKey: '', marks: Object.freeze({}) }) as StoredSlice;

/**
 * The detector state this instance wrote, kept in memory so a batch does not load it again from Redis.
 *
 * Input is keyed by userId, so the user- and intent-scoped slices a partition touches are written by
 * that partition's owner only: after its first batches, the owner holds every slice of its partition it
 * will meet again, and a slice it does not hold does not exist (a new intent, a new user). So a batch
 * loads nothing for most slices: a hit is served from here, a miss is taken as absent.
 *
 * Never trusted blindly: every save still carries the version it expects (saveSlices-n.lua). When
 * the guess was wrong — another instance ran the partition meanwhile (a rebalance, a zombie owner), a
 * tick elsewhere settled a timer, this instance just started on state already in Redis — the save
 * conflicts, the slice is reloaded from Redis and its events run again (runAndSave), as before. A slice
 * that conflicts although it was held here is written elsewhere too (agent- and vendor-scoped slices
 * when several instances run): it is marked contended and loaded from Redis in every batch from then on.
 *
 * State objects are mutated in place by the detectors: a pass that fails after running must `clear()`
 * (what is held may then be ahead of Redis).
 */
export class SliceCache {
  private readonly entries = new Map<string, Entry>();
  private readonly contended = new Set<string>();
  /**
   * Slices forgotten here (expired by event time, or past the cap) while Redis still holds their key:
   * id → when Redis drops it (this process's clock). Touched again before then, such a slice is read
   * from Redis with the batch's first load instead of taken as absent: the guess would conflict on
   * save and cost a reload, a re-run and another save round trip (474 of 1,294 batches at 5,000
   * events/s did). An id and a time each, not the state: cheap to keep until the key is gone.
   */
  private readonly evicted = new Map<string, number>();
  private readonly maxEntries: number;
  /** How far past the cap it may grow before evicting (a tenth of it): eviction runs once per that many puts. */
  private readonly slack: number;
  private sweptAt = 0;

  constructor(opts: { maxEntries?: number } = {}) {
    this.maxEntries = opts.maxEntries ?? 30_000;
    this.slack = Math.ceil(this.maxEntries / 10);
  }

  get size(): number {
    return this.entries.size;
  }

  /** The slice as held here; undefined when not held (absent, unless contended: then load it). */
  get(id: string): StoredSlice | undefined {
    return this.entries.get(id)?.stored;
  }

  /** Whether the slice was saved with a pending timer (false: no timer member to remove). */
  hasTimer(id: string): boolean {
    return this.entries.get(id)?.timer ?? true;
  }

  /** Forgotten here while Redis still holds it (see `evicted`): load it rather than guess it absent. */
  wasEvicted(id: string, now: number): boolean {
    const until = this.evicted.get(id);
    if (until === undefined) return false;
    if (until >= now) return true;
    this.evicted.delete(id);
    return false;
  }

  /** Written by other instances too: always load it. */
  isContended(id: string): boolean {
    return this.contended.has(id);
  }

  /** Its save conflicted although it was held here: load it from Redis from now on. */
  contend(id: string): void {
    this.entries.delete(id);
    if (this.contended.size >= 100_000) this.contended.clear();
    this.contended.add(id);
  }

  /** Holds a slice as saved (version 0 or no state: forgotten). */
  put(id: string, stored: StoredSlice, exp: number, deadline: number, timer: boolean, partition: string): void {
    const before = this.entries.get(id);
    this.entries.delete(id); // re-inserted last: the Map's order is the order of last writes
    this.evicted.delete(id); // saved now: what Redis holds is known again (or deleted)
    if (stored.version <= 0 || stored.state === undefined) return;
    this.entries.set(id, { stored, exp, deadline, timer, partition: partition || (before?.partition ?? '') });
    if (this.entries.size > this.maxEntries + this.slack) this.evictOldest();
  }

  /**
   * Over the cap: forgets the oldest writes down to the cap, in one walk. Evicting one entry per put
   * cost more than the rest of put: every put deletes and re-inserts, the Map keeps the deleted slots
   * at its front until it rehashes, and `keys().next()` walked them all each time (bench/engine-bench.ts).
   */
  private evictOldest(): void {
    const now = Date.now();
    dropOldest(this.entries, this.entries.size - this.maxEntries, (id, e) => this.forget(id, e, now));
  }

  /** Drops a held slice, remembering it as evicted while its Redis key lives (bounded: the oldest go first). */
  private forget(id: string, e: Entry, now: number): void {
    this.entries.delete(id);
    if (e.deadline < now) return;
    this.evicted.set(id, e.deadline);
    if (this.evicted.size > this.maxEntries * 4) dropOldest(this.evicted, this.evicted.size - this.maxEntries * 3, (old) => this.evicted.delete(old));
  }

  /** The slice is gone from Redis (deleted by a save): neither held nor evicted. */
  delete(id: string): void {
    this.entries.delete(id);
    this.evicted.delete(id);
  }

  /** Forgets the slices last saved by passes of partitions this instance no longer owns (a rebalance). */
  dropPartitions(owned: (partition: string) => boolean): void {
    for (const [id, e] of this.entries) if (e.partition !== '' && !owned(e.partition)) this.entries.delete(id);
  }

  /** Forgets everything (a failed pass). */
  clear(): void {
    this.entries.clear();
    this.sweptAt = 0;
  }

  /**
   * Forgets the slices expired by event time `watermark`, or whose Redis key expired by `now`
   * (amortised: a full sweep only once the cache grew by half since the last one). Memory follows the
   * live windows, not the run's length. A slice forgotten while Redis still holds it (expired by event
   * time, within its TTL's slack; or much longer when a backlog runs event time far ahead of the
   * clock) is found again by a conflict when touched.
   */
  evictExpired(watermark: number, now: number): void {
    if (this.entries.size < this.sweptAt * 1.5 + 10_000) return;
    for (const [id, e] of this.entries) if (e.exp < watermark || e.deadline < now) this.forget(id, e, now);
    for (const [id, until] of this.evicted) if (until < now) this.evicted.delete(id);
    this.sweptAt = this.entries.size;
  }
}

/** Hands the `count` oldest entries of `map` (its insertion order) to `drop`, which removes them, in one walk. */
function dropOldest<K, V>(map: Map<K, V>, count: number, drop: (key: K, value: V) => void): void {
  let left = count;
  for (const [k, v] of map) {
    if (left-- <= 0) break;
    drop(k, v);
  }
}
