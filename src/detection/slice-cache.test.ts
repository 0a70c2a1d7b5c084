import { describe, expect, it } from 'vitest';
import { SliceCache } from './slice-cache.ts';
import type { StoredSlice } from './slice-store.ts';

const slice = (version: number): StoredSlice => ({ version, state: { n: version }, matchKey: '', marks: {} });

describe('SliceCache', () => {
  it('holds at most its cap plus a tenth, and forgets the oldest writes first', () => {
    const cache = new SliceCache({ maxEntries: 100 });
    for (let i = 0; i < 1000; i++) {
      cache.put(`k:${i}`, slice(i + 1), Infinity, Infinity, false, 't/0');
      expect(cache.size).toBeLessThanOrEqual(110);
    }
    // the newest 100 writes are always held
    for (let i = 900; i < 1000; i++) expect(cache.get(`k:${i}`)?.version).toBe(i + 1);
    expect(cache.get('k:0')).toBeUndefined();
  });

  it('counts a slice written again as its newest write (it is not evicted for its first one)', () => {
    const cache = new SliceCache({ maxEntries: 10 });
    cache.put('hot', slice(1), Infinity, Infinity, false, 't/0');
    for (let i = 0; i < 50; i++) {
      cache.put(`k:${i}`, slice(1), Infinity, Infinity, false, 't/0');
      cache.put('hot', slice(i + 2), Infinity, Infinity, false, 't/0');
    }
    expect(cache.get('hot')?.version).toBe(51);
  });

  it('forgets a slice saved as deleted (version 0 or no state)', () => {
    const cache = new SliceCache();
    cache.put('a', slice(3), Infinity, Infinity, false, 't/0');
    cache.put('a', { version: 0, state: undefined, matchKey: '', marks: {} }, Infinity, Infinity, false, 't/0');
    expect(cache.get('a')).toBeUndefined();
    expect(cache.size).toBe(0);
  });
});
