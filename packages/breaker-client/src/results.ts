import type { BreakerReason, BreakerStateName } from './protocol.ts';
import type { BreakerTransition } from './transition.ts';

/** What a breaker script answered, by script: tripBreaker, takePermit, reportTrial, force*Breaker, resetBreaker. */
export type Outcome =
  | 'tripped' | 'duplicate' | 'already_open' | 'overridden'
  | 'allowed' | 'permit' | 'denied'
  | 'applied' | 'ignored'
  | 'forced' | 'reset';

/** What every breaker script returns (JSON). */
export interface OpResult {
  outcome: Outcome;
  state: BreakerStateName;
  /** The state's `until` (null when closed). */
  until: number | null;
  /** For a denied permit: ms until it is worth asking again (null: unknown). */
  retryAfterMs: number | null;
  reason: BreakerReason | null;
  actor: string | null;
  note: string | null;
  transitions: BreakerTransition[];
}
