import type { Finding } from '../../processors/core/finding.ts';
import type { BreakerPolicy } from './breaker-policy.ts';
import type { BreakerStore } from './breaker-store.ts';
import { decideTrips, type QuorumState, type TripDecision } from './decide-trips.ts';
import type { OpResult } from './machine.ts';

/**
 * Applies one finding to the breakers: decides the trips (pure) and runs one tripBreaker script each, in
 * turn. Safe to repeat for a redelivered finding: each breaker applies a findingId once. The sequential
 * reference; `vigil run` applies a batch of findings at once with FindingBreakers (finding-breakers.ts).
 */
export async function applyFinding(
  store: BreakerStore,
  finding: Finding,
  policy: BreakerPolicy,
  quorum?: QuorumState,
): Promise<{ decision: TripDecision; results: OpResult[] }> {
  const decision = decideTrips(finding, policy, quorum);
  const results: OpResult[] = [];
  for (const t of decision.trips) results.push(await store.trip(t.scope, t.id, t.args));
  return { decision, results };
}
