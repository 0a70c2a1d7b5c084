import { MinHeap } from './min-heap.ts';

/**
 * Remembers the eventIds seen, for `horizonMs` of event time behind the watermark, so a redelivered event
 * is ignored while memory stays bounded: ids are kept in buckets by event time and a whole bucket is
 * forgotten once the watermark has passed it by the horizon (no scan of every id).
 */
export class EventDedupe {
  private readonly seen = new IdSet();
  private readonly buckets = new Map<number, Bucket>();
  private readonly order = new MinHeap<number>();
  private readonly bucketMs: number;
  private readonly horizonMs: number;
  /** The bucket of the last id added (events come mostly in order), undefined when forgotten. */
  private last: Bucket | undefined;

  constructor(horizonMs: number, bucketMs = 60_000) {
    if (!(horizonMs >= 0)) throw new RangeError(`dedupe horizon must be ≥ 0 ms, got ${horizonMs}`);
    this.horizonMs = horizonMs;
    this.bucketMs = bucketMs;
  }

  /** Ids currently remembered. */
  get size(): number {
    return this.seen.size;
  }

  /** True when the id is new (and remembers it); false for a redelivery. */
  add(eventId: string, ts: number): boolean {
    const h = hashOf(eventId);
    if (!this.seen.add(eventId, h)) return false;
    const b = Math.floor(ts / this.bucketMs);
    let bucket = this.last !== undefined && this.last.b === b ? this.last : this.buckets.get(b);
    if (bucket === undefined) {
      bucket = { b, ids: [], hashes: [] };
      this.buckets.set(b, bucket);
      this.order.push(b, b);
    }
    this.last = bucket;
    bucket.ids.push(eventId);
    bucket.hashes.push(h);
    return true;
  }

  /** Forgets ids whose event time is more than the horizon behind the watermark. */
  forgetBefore(watermark: number): void {
    const limit = watermark - this.horizonMs;
    while (this.order.size > 0 && (this.order.peekPriority() + 1) * this.bucketMs <= limit) {
      const b = this.order.pop()!;
      const bucket = this.buckets.get(b)!;
      const { ids, hashes } = bucket;
      for (let i = 0; i < ids.length; i++) this.seen.delete(ids[i]!, hashes[i]!);
      this.buckets.delete(b);
      if (this.last === bucket) this.last = undefined;
    }
  }
}

/** The ids remembered for one bucket of event time, with their hashes. */
interface Bucket {
  b: number;
  ids: string[];
  hashes: number[];
}

/** A 32-bit hash of a string (FNV-1a, then mixed), never 0. */
function hashOf(s: string): number {
  let h = 0x811c9dc5 ^ s.length;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  h ^= h >>> 15;
  h = Math.imul(h, 0x2c1b3c6d);
  h ^= h >>> 12;
  return h | 1;
}

/**
 * A set of strings with their hashes kept beside them in a typed array (open addressing, linear
 * probing, deletion by backward shift): a lookup mostly reads one slot of the hash array and compares
 * a string only when the hashes match. A Set of this many ids cost several cache misses per lookup
 * (each key compared is a string elsewhere on the heap); this costs about one.
 */
class IdSet {
  private hashes = new Int32Array(1024);
  private ids: (string | undefined)[] = new Array<string | undefined>(1024).fill(undefined);
  private mask = 1023;
  private count = 0;

  get size(): number {
    return this.count;
  }

  /** Adds `id` (of hash `h`); false when it is already held. */
  add(id: string, h: number): boolean {
    const hashes = this.hashes;
    const ids = this.ids;
    const mask = this.mask;
    let i = h & mask;
    for (let x = hashes[i]!; x !== 0; x = hashes[i]!) {
      if (x === h && ids[i] === id) return false;
      i = (i + 1) & mask;
    }
    hashes[i] = h;
    ids[i] = id;
    if (++this.count * 2 > mask) this.grow();
    return true;
  }

  /** Removes `id` (of hash `h`) if held. */
  delete(id: string, h: number): void {
    const hashes = this.hashes;
    const ids = this.ids;
    const mask = this.mask;
    let hole = h & mask;
    for (let x = hashes[hole]!; x !== h || ids[hole] !== id; x = hashes[hole]!) {
      if (x === 0) return;
      hole = (hole + 1) & mask;
    }
    // Backward shift: an entry after the hole moves into it unless its home slot lies after the hole.
    for (let j = (hole + 1) & mask, x = hashes[j]!; x !== 0; j = (j + 1) & mask, x = hashes[j]!) {
      if (((j - (x & mask)) & mask) >= ((j - hole) & mask)) {
        hashes[hole] = x;
        ids[hole] = ids[j];
        hole = j;
      }
    }
    hashes[hole] = 0;
    ids[hole] = undefined;
    this.count--;
  }

  private grow(): void {
    const oldHashes = this.hashes;
    const oldIds = this.ids;
    const size = oldHashes.length * 2;
    const hashes = new Int32Array(size);
    const ids = new Array<string | undefined>(size).fill(undefined);
    const mask = size - 1;
    for (let k = 0; k < oldHashes.length; k++) {
      const x = oldHashes[k]!;
      if (x === 0) continue;
      let i = x & mask;
      while (hashes[i] !== 0) i = (i + 1) & mask;
      hashes[i] = x;
      ids[i] = oldIds[k];
    }
    this.hashes = hashes;
    this.ids = ids;
    this.mask = mask;
  }
}
