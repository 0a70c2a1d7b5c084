import { appendFileSync } from 'node:fs';
import fc from 'fast-check';

/**
 * The bad-input suite's knobs. `npm test` runs the short version; `npm run test:fuzz -- --long` (or
 * VIGIL_FUZZ=long) the long one, at least 10,000 cases in all. VIGIL_FUZZ_SEED replays a failing run
 * (fast-check prints the seed and path of a counterexample); VIGIL_FUZZ_REPORT names a file where each
 * property appends how many cases it ran (the runner prints the totals).
 */
export const LONG = process.env.VIGIL_FUZZ === 'long';

/** A test's time limit: the long run takes minutes on two shared cores. */
export const FUZZ_TIMEOUT = LONG ? 900_000 : 180_000;

/** Cases for a property: `short` in `npm test`, `long` in the long run. */
export function cases(short: number, long: number): number {
  return LONG ? long : short;
}

/** fast-check parameters for `numRuns` cases, with the replay seed when one is given. */
export function params<T>(numRuns: number): fc.Parameters<T> {
  const seed = process.env.VIGIL_FUZZ_SEED;
  return { numRuns, ...(seed ? { seed: Number(seed) } : {}) };
}

/** Runs a property and records its case count. */
export function check<T>(name: string, prop: fc.IProperty<T>, numRuns: number): void {
  fc.assert(prop, params(numRuns));
  record(name, numRuns);
}

/** Runs an async property and records its case count. */
export async function checkAsync<T>(name: string, prop: fc.IAsyncProperty<T>, numRuns: number): Promise<void> {
  await fc.assert(prop, params(numRuns));
  record(name, numRuns);
}

/** Records cases run outside fast-check (a generated corpus sent through a live service). */
export function record(name: string, n: number): void {
  const file = process.env.VIGIL_FUZZ_REPORT;
  if (file) appendFileSync(file, JSON.stringify({ name, cases: n }) + '\n');
}

/** True when text looks like a stack trace (what a user must never be shown for their own mistake). */
export function hasStackTrace(text: string): boolean {
  return /\n\s+at .+[(:]\d+/.test(text) || /\bat (async )?\S+ \(.*:\d+:\d+\)/.test(text);
}
