import { describe, expect, it } from 'vitest';
import { ReplayEngine } from '../../processors/engine/replay-engine.ts';
import { vendorFailureRate } from '../../processors/vendor-failure-rate/detector.ts';
import { actionFailed } from '../../processors/testing/event-builders.ts';
import type { Finding } from '../../processors/core/finding.ts';
import { parseBreakerPolicy } from '../../src/breakers/breaker-policy.ts';
import { decideTrips } from '../../src/breakers/decide-trips.ts';

/** The vendor_failure_rate finding of 24 failed calls to acme-air, made by `agents` in turn. */
function vendorFinding(agents: string[]): Finding {
  const found: Finding[] = [];
  const engine = new ReplayEngine({ detectors: [vendorFailureRate], onFinding: (f) => found.push(f) });
  for (let k = 0; k < 24; k++) {
    engine.push(actionFailed({ at: k, agentId: agents[k % agents.length]!, userId: `u_${k % 5}`, intentId: `i-${k}`, action: { vendor: 'acme-air' } }));
  }
  engine.finish();
  expect(found).toHaveLength(1);
  return found[0]!;
}

/** The quorum option, fed by what the detector itself reports (the wiring passes `finding.subjects`). */
describe('breaker quorum on real vendor_failure_rate findings', () => {
  const policy = parseBreakerPolicy({ rules: { vendor_failure_rate: { quorum: { min: 2, of: 'agents' } } } }, (p) => p);

  it('opens only the one agent that sees the vendor fail', () => {
    const f = vendorFinding(['trip-planner']);
    expect(f.subjects?.agents).toEqual(['trip-planner']);
    const d = decideTrips(f, policy, f.subjects);
    expect(d.trips.map((t) => `${t.scope}:${t.id}`)).toEqual(['agent:trip-planner']);
    expect(d.note).toContain('quorum not reached (1 of 2 distinct agents)');
  });

  it('opens the vendor when two agents see it fail', () => {
    const f = vendorFinding(['trip-planner', 'travel-assistant']);
    expect(f.subjects).toEqual({ agents: ['travel-assistant', 'trip-planner'], users: ['u_0', 'u_1', 'u_2', 'u_3', 'u_4'] });
    expect(decideTrips(f, policy, f.subjects).trips.map((t) => `${t.scope}:${t.id}`)).toEqual(['vendor:acme-air']);
  });
});
