import { describe, expect, it, vi } from 'vitest';
import { addToWindow, newWindow } from '../../processors/shared/bucket-window.ts';
import { diffParts, joinState, splitState } from './slice-parts.ts';

const windowed = () => {
  const s = { vendor: 'acme', w: newWindow(10_000, 1_000), minOutcomes: 3 };
  for (const [t, id] of [[1_500, 'e1'], [1_700, 'e2'], [4_200, 'e3']] as const) addToWindow(s.w, t, { t, id }, { f: true, sample: true, who: { agent: 'a1', user: 'u1' }, unique: true }, 5);
  return s;
};

const asFields = (head: string, parts: ReadonlyMap<string, string>) => ({ v: '3', s: head, k: '', m: '{}', ...Object.fromEntries(parts) });

describe('slice parts', () => {
  it('splits a window into one part per bucket and a head without them, and joins them back', () => {
    const s = windowed();
    const { head, parts } = splitState(s, 'w');
    expect([...parts.keys()]).toEqual(['p:w:1', 'p:w:4']);
    expect(JSON.parse(head).w.b).toEqual([]);
    expect(s.w.b).toHaveLength(2); // the state itself is left as it was
    const back = joinState(head, asFields(head, parts));
    expect(back.state).toEqual(s);
    expect(back.parts).toEqual(parts);
  });

  it('joins parts in bucket order whatever order the hash gives them in', () => {
    const s = windowed();
    addToWindow(s.w, 12_000, { t: 12_000, id: 'e4' }, { sample: false, unique: true }, 5);
    const { head, parts } = splitState(s, 'w');
    const reversed = Object.fromEntries([...parts].reverse());
    expect(joinState(head, { s: head, ...reversed }).state).toEqual(s);
  });

  it('stores a state without a window yet (null) whole, with no parts', () => {
    const s = { vendor: 'acme', w: null };
    const { head, parts } = splitState(s, 'w');
    expect(parts.size).toBe(0);
    expect(joinState(head, { s: head })).toEqual({ state: s, parts: undefined });
  });

  it('reads a slice saved whole (before parts) as it is', () => {
    const s = windowed();
    const whole = JSON.stringify(s);
    expect(joinState(whole, { v: '1', s: whole })).toEqual({ state: s, parts: undefined });
  });

  it('takes the buckets of a head saved whole over stale parts beside it, and reports the parts to replace', () => {
    // a version before parts saved the slice whole over one saved in parts (a rolling upgrade)
    const old = windowed();
    const { parts: stale } = splitState(old, 'w');
    const now = windowed();
    addToWindow(now.w, 1_900, { t: 1_900, id: 'e9' }, { f: true, sample: true, unique: true }, 5);
    const whole = JSON.stringify(now);
    const back = joinState(whole, { s: whole, ...Object.fromEntries(stale) });
    expect(back.state).toEqual(now);
    expect(back.parts).toEqual(stale);
    const next = splitState(back.state, 'w');
    expect(diffParts(back.parts, next.parts).set).toEqual(['p:w:1', next.parts.get('p:w:1')]);
  });

  it('serialises again only the buckets that changed since they were last serialised or read', () => {
    const s = { vendor: 'acme', w: newWindow(60_000, 1_000) };
    for (let t = 0; t < 60_000; t += 100) addToWindow(s.w, t, { t, id: `e${t}` }, { f: true, sample: true, unique: true }, 5);
    const first = splitState(s, 'w');
    const stringify = vi.spyOn(JSON, 'stringify');
    try {
      addToWindow(s.w, 59_950, { t: 59_950, id: 'x' }, { f: true, sample: true, unique: true }, 5);
      const second = splitState(s, 'w');
      expect(stringify).toHaveBeenCalledTimes(2); // the head and bucket 59
      expect(diffParts(first.parts, second.parts).set.filter((_, i) => i % 2 === 0)).toEqual(['p:w:59']);
      // buckets read back from Redis are known as they were read: nothing to serialise but the head
      stringify.mockClear();
      const back = joinState(second.head, Object.fromEntries(second.parts)).state;
      expect(splitState(back, 'w').parts).toEqual(second.parts);
      expect(stringify).toHaveBeenCalledTimes(1);
    } finally {
      stringify.mockRestore();
    }
  });

  it('fails on parts of a property that holds no window', () => {
    const head = JSON.stringify({ vendor: 'acme', w: null });
    expect(() => joinState(head, { s: head, 'p:w:3': '{"i":3}' })).toThrow(/without a window in the state's 'w'/);
  });

  it('diffs: sets what changed or is new, deletes what is gone; everything is set when nothing is known', () => {
    const before = new Map([['p:w:1', 'a'], ['p:w:2', 'b'], ['p:w:3', 'c']]);
    const now = new Map([['p:w:2', 'b'], ['p:w:3', 'C'], ['p:w:4', 'd']]);
    expect(diffParts(before, now)).toEqual({ set: ['p:w:3', 'C', 'p:w:4', 'd'], del: ['p:w:1'] });
    expect(diffParts(undefined, now)).toEqual({ set: ['p:w:2', 'b', 'p:w:3', 'C', 'p:w:4', 'd'], del: [] });
    expect(diffParts(now, now)).toEqual({ set: [], del: [] });
  });
});
