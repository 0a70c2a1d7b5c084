import { describe, expect, it } from 'vitest';
import { Backoff, backoffDelay } from './retry-policy.ts';

const seq = (...xs: number[]) => {
  let i = 0;
  return () => xs[i++ % xs.length]!;
};

describe('Backoff', () => {
  it('without jitter doubles from initialMs up to maxMs', () => {
    const b = new Backoff({ initialMs: 100, maxMs: 1000, jitter: 'none' });
    expect(Array.from({ length: 6 }, () => b.next())).toEqual([100, 200, 400, 800, 1000, 1000]);
    b.reset();
    expect(b.next()).toBe(100);
  });

  it('full and half jitter stay in [0, d) and [d/2, d)', () => {
    const full = new Backoff({ initialMs: 100, maxMs: 1000, jitter: 'full', random: seq(0, 0.999) });
    expect([full.next(), full.next()]).toEqual([0, 199]);
    const half = new Backoff({ initialMs: 100, maxMs: 1000, jitter: 'half', random: seq(0, 0.999) });
    expect([half.next(), half.next()]).toEqual([50, 199]);
  });

  it('decorrelated jitter: medians grow about ×2, never past maxMs, and two instances fall out of step', () => {
    const runs = 2000;
    const medians: number[] = [];
    const all: number[][] = [];
    for (let r = 0; r < runs; r++) {
      const b = new Backoff({ initialMs: 100, maxMs: 5000 });
      all.push(Array.from({ length: 8 }, () => b.next()));
    }
    for (let a = 0; a < 8; a++) {
      const xs = all.map((r) => r[a]!).sort((x, y) => x - y);
      medians.push(xs[runs >> 1]!);
      expect(xs.at(-1)!).toBeLessThanOrEqual(5000);
      expect(xs[0]!).toBeGreaterThanOrEqual(0);
    }
    // medians grow (Polly's formula smooths the first step), then about ×2 per attempt before the cap
    expect(medians[1]!).toBeGreaterThan(medians[0]!);
    for (let a = 2; a < 6; a++) expect(medians[a]! / medians[a - 1]!).toBeGreaterThan(1.6);
    expect(medians[7]).toBeLessThanOrEqual(5000);
    // spread: the same attempt differs between instances (no lockstep)
    const third = all.map((r) => r[2]!).sort((x, y) => x - y);
    expect(third[(runs * 3) >> 2]! - third[runs >> 2]!).toBeGreaterThan(medians[2]! / 2);
  });

  it('refuses nonsense options', () => {
    expect(() => new Backoff({ initialMs: 0, maxMs: 10 })).toThrow(RangeError);
    expect(() => new Backoff({ initialMs: 10, maxMs: 5 })).toThrow(RangeError);
  });

  it('backoffDelay (for a counter kept elsewhere) is half-jittered and capped, even for huge attempts', () => {
    expect(backoffDelay(0, 50, 2000, () => 0)).toBe(25);
    expect(backoffDelay(3, 50, 2000, () => 0.5)).toBe(300);
    expect(backoffDelay(10_000, 50, 2000, () => 0.999)).toBe(1999);
  });
});
