import { MinHeap } from './min-heap.ts';

/**
 * Remembers the eventIds seen, for `horizonMs` of event time behind the watermark, so a redelivered event
 * is ignored while memory stays bounded: ids are kept in buckets by event time and a whole bucket is
 * forgotten once the watermark has passed it by the horizon (no scan of every id).
 */
export class EventDedupe {
  private readonly seen = new Set<string>();
  private readonly buckets = new Map<number, string[]>();
  private readonly order = new MinHeap<number>();
  private readonly bucketMs: number;
  private readonly horizonMs: number;
  /** The bucket of the last id added and its list (NaN: none). */
  private lastBucket = NaN;
  private lastList: string[] | undefined;

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
    // One lookup in the (large) set, not two: add, and see whether it grew.
    const seen = this.seen;
    const size = seen.size;
    seen.add(eventId);
    if (seen.size === size) return false;
    const b = Math.floor(ts / this.bucketMs);
    // Events come mostly in order: the bucket of the previous id is the likely one.
    let list = b === this.lastBucket ? this.lastList : this.buckets.get(b);
    if (list === undefined) {
      list = [];
      this.buckets.set(b, list);
      this.order.push(b, b);
    }
    this.lastBucket = b;
    this.lastList = list;
    list.push(eventId);
    return true;
  }

  /** Forgets ids whose event time is more than the horizon behind the watermark. */
  forgetBefore(watermark: number): void {
    const limit = watermark - this.horizonMs;
    while (this.order.size > 0 && (this.order.peekPriority() + 1) * this.bucketMs <= limit) {
      const b = this.order.pop()!;
      for (const id of this.buckets.get(b)!) this.seen.delete(id);
      this.buckets.delete(b);
      if (b === this.lastBucket) this.lastBucket = NaN;
    }
  }
}
