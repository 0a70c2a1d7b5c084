import { describe, expect, it } from 'vitest';
import { tokenIs } from './auth.ts';
import { RateLimiter } from './rate-limit.ts';

describe('RateLimiter (token bucket per client)', () => {
  it('lets a burst through, then one per 60/perMinute seconds, and says when to retry', () => {
    let now = 0;
    const l = new RateLimiter({ perMinute: 6, burst: 3, now: () => now });
    expect([l.take('a'), l.take('a'), l.take('a')].every((r) => r.allowed)).toBe(true);
    expect(l.take('a')).toEqual({ allowed: false, retryAfterSeconds: 10 });
    expect(l.take('b').allowed).toBe(true); // another client has its own bucket
    now += 4000;
    expect(l.take('a')).toEqual({ allowed: false, retryAfterSeconds: 6 });
    now += 6000;
    expect(l.take('a').allowed).toBe(true);
    expect(l.take('a').allowed).toBe(false);
    now += 3_600_000; // refills up to the burst, not beyond
    expect([l.take('a'), l.take('a'), l.take('a'), l.take('a')].map((r) => r.allowed)).toEqual([true, true, true, false]);
  });

  it('keeps at most maxClients buckets (the least recently seen go first)', () => {
    const l = new RateLimiter({ perMinute: 1, burst: 1, maxClients: 2, now: () => 0 });
    expect(l.take('a').allowed).toBe(true);
    expect(l.take('b').allowed).toBe(true);
    expect(l.take('a').allowed).toBe(false); // a seen again: now the most recent
    expect(l.take('c').allowed).toBe(true); // evicts b
    expect(l.take('a').allowed).toBe(false);
    expect(l.take('b').allowed).toBe(true); // b started over
  });

  it('refuses nonsense settings', () => {
    expect(() => new RateLimiter({ perMinute: 0, burst: 1 })).toThrow(RangeError);
    expect(() => new RateLimiter({ perMinute: 1, burst: 0 })).toThrow(RangeError);
  });
});

describe('tokenIs', () => {
  it('compares digests of equal length: any length of guess, same answer as ===', () => {
    const t = 'admin-token-0123456789abcdef';
    expect(tokenIs(t, t)).toBe(true);
    for (const g of ['', 'a', t.slice(0, -1), t + 'x', t.toUpperCase(), 'x'.repeat(10_000)]) expect(tokenIs(g, t)).toBe(false);
  });
});
