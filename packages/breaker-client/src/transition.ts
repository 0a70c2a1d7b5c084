import { createHash } from 'node:crypto';
import type { BreakerReason, BreakerScope, BreakerStateName } from './protocol.ts';

/** What caused a transition. */
export const TRANSITION_CAUSES = [
  'trip',
  'cooldown_elapsed',
  'trials_succeeded',
  'trial_failed',
  'force_open',
  'force_close',
  'reset',
  'override_expired',
] as const;
export type TransitionCause = (typeof TRANSITION_CAUSES)[number];

/**
 * One breaker state change, as published on Redis pub/sub and on the Kafka topic
 * `safety.breaker-transitions` (schemas/breaker-transition.avsc mirrors this type field for field).
 */
export interface BreakerTransition {
  /** Deterministic: a trip's id derives from the breaker and the findingId; others from the breaker, seq and time. */
  transitionId: string;
  protocolVersion: number;
  scope: BreakerScope;
  scopeId: string;
  from: BreakerStateName;
  to: BreakerStateName;
  cause: TransitionCause;
  /** Epoch ms (Redis time). */
  at: number;
  /** Until when the new state holds (open: cool-down end; half_open: trial deadline; forced: expiry). */
  until: number | null;
  trips: number;
  findingId: string | null;
  actor: string | null;
  note: string | null;
  /** Why the breaker opened (trip transitions). */
  reason: BreakerReason | null;
}

/** The id of the transition a finding causes on a breaker: the same finding never trips it twice. */
export function tripTransitionId(scope: string, id: string, findingId: string): string {
  return 'tr_' + createHash('sha1').update(`${scope}\0${id}\0finding\0${findingId}`).digest('hex').slice(0, 32);
}

/** The id of any other transition: breaker, its transition sequence number and time. */
export function seqTransitionId(scope: string, id: string, seq: number, at: number): string {
  return 'tr_' + createHash('sha1').update(`${scope}\0${id}\0seq\0${seq}\0${at}`).digest('hex').slice(0, 32);
}
