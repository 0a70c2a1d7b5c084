/** What inOrderPerKey did: each item's result (undefined where it failed or did not run), and the first failure. */
export interface PerKeyOutcome<R> {
  results: (R | undefined)[];
  failed: boolean;
  error: unknown;
}

/**
 * Runs `run` over `items`, the items of one key one after another in their order, the keys
 * concurrently: the calls of different keys go out together (on an auto-pipelining Redis client, one
 * round trip per step instead of one per item), while each key sees its items in the order a
 * sequential loop would give them. A key's chain stops at its first failure (its later items do not
 * run, so a retry keeps their order); the other chains run to their end. Resolves once every chain has
 * ended; `error` is the failure of the first failing key, in the order keys first appear.
 */
export async function inOrderPerKey<T, R>(items: readonly T[], keyOf: (item: T) => string, run: (item: T) => Promise<R>): Promise<PerKeyOutcome<R>> {
  const chains = new Map<string, number[]>();
  items.forEach((item, i) => {
    const k = keyOf(item);
    const chain = chains.get(k);
    if (chain) chain.push(i);
    else chains.set(k, [i]);
  });
  const results: (R | undefined)[] = new Array(items.length);
  const settled = await Promise.allSettled(
    [...chains.values()].map(async (chain) => {
      for (const i of chain) results[i] = await run(items[i]!);
    }),
  );
  const failure = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  return { results, failed: failure !== undefined, error: failure?.reason };
}
