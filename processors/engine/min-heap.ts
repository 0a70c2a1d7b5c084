/**
 * A binary min-heap of items ordered by a numeric priority given at push time. The engine keeps its
 * timers (priority = due event time) and expiry buckets (priority = bucket number) in it, so settling
 * what is due costs O(log n) per item instead of a scan of every slice.
 */
export class MinHeap<T> {
  private readonly prio: number[] = [];
  private readonly items: T[] = [];

  get size(): number {
    return this.items.length;
  }

  /** Priority of the smallest item, or +Infinity when empty. */
  peekPriority(): number {
    return this.items.length === 0 ? Infinity : this.prio[0]!;
  }

  push(priority: number, item: T): void {
    const prio = this.prio;
    const items = this.items;
    let i = items.length;
    prio.push(priority);
    items.push(item);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (prio[parent]! <= priority) break;
      prio[i] = prio[parent]!;
      items[i] = items[parent]!;
      i = parent;
    }
    prio[i] = priority;
    items[i] = item;
  }

  /** Removes and returns the smallest item (undefined when empty). */
  pop(): T | undefined {
    const prio = this.prio;
    const items = this.items;
    const n = items.length;
    if (n === 0) return undefined;
    const top = items[0];
    const lastP = prio.pop()!;
    const lastI = items.pop()!;
    if (n > 1) {
      const size = n - 1;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= size) break;
        const r = l + 1;
        const c = r < size && prio[r]! < prio[l]! ? r : l;
        if (prio[c]! >= lastP) break;
        prio[i] = prio[c]!;
        items[i] = items[c]!;
        i = c;
      }
      prio[i] = lastP;
      items[i] = lastI;
    }
    return top;
  }

  clear(): void {
    this.prio.length = 0;
    this.items.length = 0;
  }
}
