import type { Detector } from '../../processors/core/detector.ts';
import type { ValidEvent } from '../../processors/core/events.ts';
import type { RuleSet } from '../../processors/engine/rule-set.ts';
import { sliceId } from '../../processors/engine/slice-runner.ts';
import type { Loaded } from './detection-pass.ts';
import { ABSENT, type SliceCache } from './slice-cache.ts';
import type { SliceRef, SliceStore } from './slice-store.ts';

/** A slice address with the index of its detector. */
export type Ref = SliceRef & { det: number };

/**
 * Which shared slices a live pass needs (those of the detectors several partitions feed: agent, vendor;
 * the partition-local ones stay resident, resident-state.ts) and where each comes from: held here
 * (SliceCache), taken to be absent (not held), or read from Redis (contended: written by other
 * instances too; or forgotten here while Redis still holds it).
 */
export class SharedSlices {
  private readonly detectors: readonly Detector<any, any>[];
  private readonly mask: readonly boolean[];
  private readonly cache: SliceCache;
  private readonly kindIndex: Map<string, number>;

  /** `mask`: the detectors whose slices are shared, by index. */
  constructor(detectors: readonly Detector<any, any>[], mask: readonly boolean[], cache: SliceCache) {
    this.detectors = detectors;
    this.mask = mask;
    this.cache = cache;
    this.kindIndex = new Map(detectors.map((d, i) => [d.kind as string, i]));
  }

  /** The address of a slice id `<kind>:<key>`, if its kind is run here. */
  refOf(id: string): Ref | undefined {
    const at = id.indexOf(':');
    const det = this.kindIndex.get(id.slice(0, at));
    return at > 0 && det !== undefined ? { kind: id.slice(0, at), key: id.slice(at + 1), det } : undefined;
  }

  /** Adds the shared slices the events touch (by their enabled rules) to `refs`. */
  add(rules: RuleSet, events: Iterable<ValidEvent>, refs: Map<string, Ref>): void {
    const detectors = this.detectors;
    const mask = this.mask;
    for (const e of events) {
      const rs = rules.rulesFor(rules.matchKey(e));
      for (let i = 0; i < detectors.length; i++) {
        if (rs[i] === undefined || !mask[i]) continue;
        const d = detectors[i]!;
        const key = d.keyOf(e);
        if (key === undefined) continue;
        const id = sliceId(d.kind, key);
        if (!refs.has(id)) refs.set(id, { kind: d.kind, key, det: i });
      }
    }
  }

  /** The slices to read from Redis, and those served without a read (held here, or taken as absent). */
  split(refs: ReadonlyMap<string, Ref>): { fromRedis: Map<string, Ref>; served: Map<string, Loaded> } {
    const cache = this.cache;
    const fromRedis = new Map<string, Ref>();
    const served = new Map<string, Loaded>();
    const now = Date.now();
    for (const [id, ref] of refs) {
      if (cache.isContended(id) || cache.wasEvicted(id, now)) fromRedis.set(id, ref);
      else {
        const held = cache.get(id);
        served.set(id, held !== undefined ? { ref, stored: held, from: 'cache' } : { ref, stored: ABSENT, from: 'absent' });
      }
    }
    return { fromRedis, served };
  }

  /** Loads the due slices not loaded yet (a third round trip, only when some are due); returns how many were read. */
  async loadMissing(store: SliceStore, loaded: Map<string, Loaded>, dueIds: ReadonlySet<string>): Promise<number> {
    const missing = new Map<string, Ref>();
    for (const id of dueIds) {
      if (loaded.has(id)) continue;
      const ref = this.refOf(id);
      if (ref === undefined) continue;
      const held = this.cache.isContended(id) ? undefined : this.cache.get(id);
      // a due timer says the slice exists: one not held here is read from Redis
      if (held !== undefined) loaded.set(id, { ref, stored: held, from: 'cache' });
      else missing.set(id, ref);
    }
    if (missing.size === 0) return 0;
    const res = await store.load([...missing.values()]);
    [...missing.entries()].forEach(([id, ref], i) => loaded.set(id, { ref, stored: res.slices[i]! }));
    return missing.size;
  }
}
