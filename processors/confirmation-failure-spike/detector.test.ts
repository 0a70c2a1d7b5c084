import { beforeEach, describe, expect, it } from 'vitest';
import { confirmationFailureSpike } from './detector.ts';
import { runDetectors } from '../testing/run-detectors.ts';
import { expectOrderIndependent } from '../testing/order-independence.ts';
import { confirmationAccepted, confirmationExpired, confirmationRejected, confirmationRequested, resetEventIds } from '../testing/event-builders.ts';
import type { ValidEvent } from '../core/events.ts';

const run = (events: readonly ValidEvent[]) => runDetectors([confirmationFailureSpike], events).findings;

/** `n` confirmations requested over `spanS` seconds, the first `failed` of them rejected or expired 5 s later. */
function confirmations(n: number, failed: number, spanS = 300, agentId = 'travel-assistant', fromS = 0): ValidEvent[] {
  const out: ValidEvent[] = [];
  for (let k = 0; k < n; k++) {
    const s = fromS + (k * spanS) / n;
    out.push(confirmationRequested({ at: s, intentId: `i-${fromS}-${k}`, agentId }));
    const end = k < failed ? (k % 2 === 0 ? confirmationRejected : confirmationExpired) : confirmationAccepted;
    out.push(end({ at: s + 5, intentId: `i-${fromS}-${k}`, agentId, traceId: `t${k}` }));
  }
  return out.sort((a, b) => a.ts - b.ts);
}

describe('confirmation_failure_spike', () => {
  beforeEach(() => resetEventIds());

  it('fires when 40% of 20 confirmations in 10 min are rejected or expired, with the failures as evidence', () => {
    const events = confirmations(20, 8);
    const failures = events.filter((e) => e.type === 'confirmation.rejected' || e.type === 'confirmation.expired');
    const f = run(events);
    expect(f).toHaveLength(1);
    expect(f[0]).toMatchObject({
      kind: 'confirmation_failure_spike',
      severity: 'warning',
      scope: { type: 'agent', id: 'travel-assistant' },
      eventIds: failures.map((e) => e.eventId),
      metrics: { observed: 8, total: 20, ratio: 0.4, threshold: 0.4, minCount: 20, windowMs: 600_000 },
    });
    expect(f[0]!.detectedAt).toBe(failures[7]!.ts);
    expect(f[0]!.summary).toBe(
      'agent travel-assistant: 8 of 20 confirmations requested in 10 min were rejected or expired (40%; threshold 40% of at least 20); users are refusing what the agent proposes',
    );
  });

  it('stays silent just below the ratio, below the minimum count, and when spread over more than the window', () => {
    expect(run(confirmations(20, 7))).toEqual([]);
    expect(run(confirmations(19, 19))).toEqual([]);
    expect(run([...confirmations(10, 10, 100), ...confirmations(10, 10, 100, 'travel-assistant', 700)])).toEqual([]);
    expect(run([...confirmations(10, 10, 100), ...confirmations(10, 10, 100, 'other')])).toEqual([]);
  });

  it('fires once for a spike that goes on', () => {
    expect(run(confirmations(200, 150, 3000))).toHaveLength(1);
  });

  it('gives the same findings whatever the arrival order within the lateness and with redeliveries', () => {
    const events = [...confirmations(30, 15, 60), ...confirmations(25, 5, 60, 'other'), ...confirmations(40, 20, 40, 'travel-assistant', 2000)];
    const f = expectOrderIndependent([confirmationFailureSpike], events);
    expect(f.map((x) => [x.metrics?.observed, x.metrics?.total])).toEqual([[15, 20], [15, 20]]);
  });
});
