import { describe, expect, it } from 'vitest';
import { inOrderPerKey } from './in-order-per-key.ts';

const tick = () => new Promise((r) => setImmediate(r));

describe('inOrderPerKey', () => {
  it('runs each key in order and the keys side by side, and returns results by position', async () => {
    const log: string[] = [];
    let inFlight = 0;
    let most = 0;
    const items = ['a1', 'b1', 'a2', 'c1', 'b2', 'a3'];
    const out = await inOrderPerKey(items, (s) => s[0]!, async (s) => {
      inFlight++;
      most = Math.max(most, inFlight);
      log.push(`start ${s}`);
      await tick();
      log.push(`end ${s}`);
      inFlight--;
      return s.toUpperCase();
    });
    expect(out).toEqual({ results: ['A1', 'B1', 'A2', 'C1', 'B2', 'A3'], failed: false, error: undefined });
    // per key: each starts after the one before it ended
    for (const [x, y] of [['a1', 'a2'], ['a2', 'a3'], ['b1', 'b2']]) expect(log.indexOf(`start ${y}`)).toBeGreaterThan(log.indexOf(`end ${x}`));
    // the first items of the three keys were in flight together
    expect(most).toBe(3);
  });

  it("stops a key's chain at its failure, lets the other keys finish, and reports the first failing key's error", async () => {
    const ran: string[] = [];
    const boom = new Error('b2 failed');
    const out = await inOrderPerKey(['a1', 'b1', 'b2', 'b3', 'a2', 'c1'], (s) => s[0]!, async (s) => {
      ran.push(s);
      await tick();
      if (s === 'b2') throw boom;
      return s;
    });
    expect(out.failed).toBe(true);
    expect(out.error).toBe(boom);
    expect(out.results).toEqual(['a1', 'b1', undefined, undefined, 'a2', 'c1']);
    expect(ran).not.toContain('b3');
  });

  it('does nothing for no items', async () => {
    expect(await inOrderPerKey([], () => 'k', async () => 1)).toEqual({ results: [], failed: false, error: undefined });
  });
});
