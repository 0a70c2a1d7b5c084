import { describe, expect, it } from 'vitest';
import { addToWindow, closeWindow, ensureWindow, newWindow, windowExpiresAt, windowNextDue } from './bucket-window.ts';

const ev = (t: number, id = `e${t}`) => ({ t, id });

describe('bucket window', () => {
  it('counts each event once, closes buckets on the watermark, and ignores closed buckets', () => {
    const w = newWindow(10_000, 1000);
    expect(addToWindow(w, 500, ev(500), { sample: true }, 5)).toBe(true);
    expect(addToWindow(w, 500, ev(500), { sample: true }, 5)).toBe(false);
    expect(windowNextDue(w)).toBe(999);
    const sums: number[] = [];
    closeWindow(w, 999, (x) => (sums.push(x.n), false), () => {});
    expect(sums).toEqual([1]);
    expect(addToWindow(w, 900, ev(900), { sample: true }, 5)).toBe(false);
    expect(windowNextDue(w)).toBeUndefined();
    expect(windowExpiresAt(w)).toBe(11_000);
  });

  it('fires once per episode and again after a window without the rule holding', () => {
    const w = newWindow(3000, 1000);
    const fired: number[] = [];
    for (const t of [0, 1000, 2000, 3000, 4000, 9000, 9500]) addToWindow(w, t, ev(t), { sample: true }, 5);
    closeWindow(w, Number.POSITIVE_INFINITY, (x) => x.n >= 2, (_x, evidence) => fired.push(evidence[evidence.length - 1]!.t));
    expect(fired).toEqual([1000, 9500]);
  });

  it('works for event times before 1970', () => {
    const w = newWindow(3000, 1000);
    const fired: number[] = [];
    for (const t of [-5000, -4500]) expect(addToWindow(w, t, ev(t), { sample: true }, 5)).toBe(true);
    closeWindow(w, Number.POSITIVE_INFINITY, (x) => x.n >= 2, (x) => fired.push(x.n));
    expect(fired).toEqual([2]);
  });

  it('changes length without losing its buckets, and starts afresh past 600 buckets', () => {
    const w = newWindow(60_000, 1000);
    addToWindow(w, 10, ev(10), { sample: false }, 1);
    const same = ensureWindow(w, 120_000);
    expect(same).toBe(w);
    expect(same.W).toBe(120_000);
    expect(same.b).toHaveLength(1);
    const fresh = ensureWindow(w, 3_600_000);
    expect(fresh).not.toBe(w);
    expect(fresh.B).toBe(60_000);
  });
});
