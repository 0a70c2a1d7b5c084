/**
 * The long versions of tests that have a short one in `npm test`: VIGIL_LONG=1 (e.g. `VIGIL_LONG=1
 * node_modules/.bin/vitest run processors/testing/backlog-order.test.ts`).
 */
export const LONG = process.env.VIGIL_LONG === '1';

/** `short` in `npm test`, `long` with VIGIL_LONG=1. */
export function longOr<T>(short: T, long: T): T {
  return LONG ? long : short;
}
