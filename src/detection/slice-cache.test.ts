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

  it('remembers a slice it forgot by event time while Redis still holds the key, until the key is gone', () => {
    const now = Date.now();
    const cache = new SliceCache({ maxEntries: 20_000 });
    // expired by event time (exp 5 < watermark 100) while its key lives for another minute
    cache.put('old', slice(1), 5, now + 60_000, false, 't/0');
    cache.put('gone', slice(1), 5, now - 1, false, 't/0'); // its key already expired
    for (let i = 0; i < 10_010; i++) cache.put(`k:${i}`, slice(1), Infinity, now + 60_000, false, 't/0'); // grows past the sweep threshold
    cache.evictExpired(100, now);
    expect(cache.get('old')).toBeUndefined();
    expect(cache.wasEvicted('old', now)).toBe(true);
    expect(cache.wasEvicted('gone', now)).toBe(false);
    expect(cache.wasEvicted('old', now + 61_000)).toBe(false); // the key is gone by then
    expect(cache.get('k:10009')).toBeDefined();
    expect(cache.wasEvicted('k:10009', now)).toBe(false);
  });

  it('remembers the slices evicted past its cap, and forgets that once a slice is saved again or deleted', () => {
    const now = Date.now();
    const cache = new SliceCache({ maxEntries: 1 });
    cache.put('a', slice(1), Infinity, now + 60_000, false, 't/0');
    cache.put('b', slice(1), Infinity, now + 60_000, false, 't/0');
    cache.put('c', slice(1), Infinity, now + 60_000, false, 't/0'); // a and b evicted past the cap (1 + a tenth, rounded up)
    expect(cache.wasEvicted('a', now)).toBe(true);
    cache.put('a', slice(2), Infinity, now + 60_000, false, 't/0');
    expect(cache.wasEvicted('a', now)).toBe(false);
    expect(cache.wasEvicted('b', now)).toBe(true);
    cache.delete('b');
    expect(cache.wasEvicted('b', now)).toBe(false);
  });
});
