import fc from 'fast-check';
import type { BreakerSettings } from '../../src/breakers/state.ts';

/** The breakers random sequences act on (ids with ':' and unicode on purpose). */
export const BREAKERS = [
  ['vendor', 'v1'],
  ['agent', 'travel:assistant'],
  ['user', 'u_ø42'],
] as const;

export type Op =
  | { op: 'advance'; ms: number }
  | { op: 'trip'; b: number; finding: string; settings: BreakerSettings }
  | { op: 'take'; b: number }
  | { op: 'report'; b: number; success: boolean }
  | { op: 'force'; b: number; mode: 'forced_open' | 'forced_closed'; ttlMs: number; late?: boolean }
  | { op: 'reset'; b: number; late?: boolean };

const b = fc.integer({ min: 0, max: BREAKERS.length - 1 });
/** One override in four reaches Redis after its write deadline: refused (-4), nothing changes. */
const lateArb = fc.integer({ min: 0, max: 3 }).map((n) => n === 0);

const settings: fc.Arbitrary<BreakerSettings> = fc
  .record({
    baseMs: fc.integer({ min: 1, max: 60_000 }),
    capFactor: fc.integer({ min: 1, max: 64 }),
    jitter: fc.integer({ min: 0, max: 100 }).map((j) => j / 100),
    trials: fc.integer({ min: 1, max: 3 }),
    trialTimeoutMs: fc.integer({ min: 1, max: 60_000 }),
  })
  .map(({ capFactor, ...s }) => ({ ...s, capMs: s.baseMs * capFactor }));

/** Random operation sequences of up to maxLength operations, biased towards interesting time steps. */
export function opsArbitrary(maxLength: number): fc.Arbitrary<Op[]> {
  const op: fc.Arbitrary<Op> = fc.oneof(
    { weight: 3, arbitrary: fc.record({ op: fc.constant('advance' as const), ms: fc.oneof(fc.integer({ min: 0, max: 2_000 }), fc.integer({ min: 0, max: 400_000 })) }) },
    { weight: 3, arbitrary: fc.record({ op: fc.constant('trip' as const), b, finding: fc.integer({ min: 0, max: 5 }).map((n) => `f_${n}`), settings }) },
    { weight: 4, arbitrary: fc.record({ op: fc.constant('take' as const), b }) },
    { weight: 3, arbitrary: fc.record({ op: fc.constant('report' as const), b, success: fc.boolean() }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('force' as const), b, mode: fc.constantFrom('forced_open' as const, 'forced_closed' as const), ttlMs: fc.integer({ min: 1, max: 200_000 }), late: lateArb }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('reset' as const), b, late: lateArb }) },
  );
  return fc.array(op, { minLength: 1, maxLength });
}
