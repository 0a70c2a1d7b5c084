import { describe, expect, it } from 'vitest';
import { EventProcessingError, VigilError } from '../errors/vigil-error.ts';
import { isolatePoison, PoisonLimitError, type IsolationOptions } from './poison-isolation.ts';

/**
 * The isolation algorithm on its own: a handler (a function over runs of ids) that fails on some
 * events. Runs must be disjoint and in order; the poison ones given up on, the rest handled once.
 */
function harness(bad: Set<string>, opts: { blame?: boolean; limit?: number; flakyOnce?: Set<string>; down?: { calls: number } } = {}) {
  const handled: string[] = [];
  const poisoned: string[] = [];
  const runs: string[][] = [];
  const flaky = new Set(opts.flakyOnce);
  const o: IsolationOptions<string> = {
    idOf: (x) => x,
    budget: { left: opts.limit ?? 100, limit: opts.limit ?? 100 },
    confirmAttempts: 1,
    pause: async () => {},
    async run(items) {
      runs.push([...items]);
      if (opts.down && opts.down.calls-- > 0) throw new VigilError('redis down', { retriable: true });
      for (const x of items) {
        if (flaky.delete(x)) throw new TypeError(`flaky on ${x}`);
        if (bad.has(x)) throw opts.blame ? new EventProcessingError(x, 'a detector', new TypeError(`bug on ${x}`)) : new TypeError(`bug on ${x}`);
      }
      handled.push(...items);
    },
    async poison(x) {
      poisoned.push(x);
    },
  };
  return { o, handled, poisoned, runs };
}

const ids = (n: number) => Array.from({ length: n }, (_, i) => `e${i}`);

describe('isolatePoison', () => {
  for (const blame of [true, false]) {
    it(`${blame ? 'a blamed event splits the run there' : 'an unblamed failure bisects'}: poison out, the rest handled once, in order`, async () => {
      const items = ids(100);
      const bad = new Set(['e0', 'e37', 'e38', 'e99']);
      const h = harness(bad, { blame });
      await isolatePoison(items, h.o);
      expect(h.poisoned).toEqual(['e0', 'e37', 'e38', 'e99']);
      expect(h.handled).toEqual(items.filter((x) => !bad.has(x)));
      if (blame) expect(h.runs.length).toBeLessThan(12); // no bisection needed
    });
  }

  it('a failure that does not repeat on its own is not dead-lettered', async () => {
    const h = harness(new Set(), { flakyOnce: new Set(['e5']) });
    await isolatePoison(ids(10), h.o);
    expect(h.poisoned).toEqual([]);
    expect(h.handled).toEqual(ids(10));
  });

  it('a dependency going down mid-way rejects with it; called again, it resumes (a run is only ever durable whole)', async () => {
    const down = { calls: 1 };
    const h = harness(new Set(['e3']), { down });
    await expect(isolatePoison(ids(8), h.o)).rejects.toThrow('redis down');
    expect(h.poisoned).toEqual([]);
    await isolatePoison(ids(8), h.o);
    expect(h.poisoned).toEqual(['e3']);
  });

  it('past the poison limit it stops dead-lettering and says why', async () => {
    const h = harness(new Set(ids(20)), { limit: 3, blame: true });
    const err = await isolatePoison(ids(20), h.o).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PoisonLimitError);
    expect(String((err as Error).message)).toMatch(/more than 3 events of one batch failed/);
    expect(h.poisoned).toEqual(['e0', 'e1', 'e2']);
  });
});
