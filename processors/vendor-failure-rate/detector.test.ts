import { beforeEach, describe, expect, it } from 'vitest';
import { vendorFailureRate } from './detector.ts';
import { runDetectors } from '../testing/run-detectors.ts';
import { expectOrderIndependent } from '../testing/order-independence.ts';
import { actionFailed, actionSucceeded, at, resetEventIds } from '../testing/event-builders.ts';
import type { ValidEvent } from '../core/events.ts';

const run = (events: readonly ValidEvent[]) => runDetectors([vendorFailureRate], events).findings;

/** `n` outcomes over `spanS` s at `vendor`: every other one (from the first) failed while `failed` lasts; `latencyMs` each. */
function outcomes(n: number, failed: number, { spanS = 30, vendor = 'acme-air', fromS = 0, latencyMs = 300 } = {}): ValidEvent[] {
  let f = 0;
  return Array.from({ length: n }, (_, k) => {
    const o = { at: fromS + (k * spanS) / n, action: { vendor }, intentId: `i-${fromS}-${k}`, traceId: `t${k}` };
    if (k % 2 === 0 && f < failed) {
      f++;
      return actionFailed({ ...o, outcome: { status: 'timeout', latencyMs } });
    }
    return actionSucceeded({ ...o, outcome: { status: 'ok', latencyMs } });
  });
}

describe('vendor_failure_rate', () => {
  beforeEach(() => resetEventIds());

  it('fires when half of 20 outcomes in 60 s failed, with the failures as evidence', () => {
    const events = outcomes(20, 10);
    const failures = events.filter((e) => e.type === 'action.failed');
    const f = run(events);
    expect(f).toHaveLength(1);
    expect(f[0]).toMatchObject({
      kind: 'vendor_failure_rate',
      severity: 'warning',
      scope: { type: 'vendor', id: 'acme-air' },
      eventIds: failures.map((e) => e.eventId),
      detectedAt: failures[9]!.ts,
      metrics: { observed: 0.5, total: 20, threshold: 0.5, minCount: 20, windowMs: 60_000, failed: 10, slow: 0 },
    });
    expect(f[0]!.summary).toBe('vendor acme-air: 10 of 20 outcomes failed (50%; threshold 50%) in 60 s, at least 20 outcomes needed');
  });

  it('names the distinct agents and users whose calls failed (for the breaker quorum), not those whose calls succeeded', () => {
    const events = outcomes(20, 10).map((e, k) =>
      ({ ...e, agentId: e.type === 'action.failed' ? `agent-${k % 3}` : 'happy-agent', userId: e.type === 'action.failed' ? `u_${k % 4}` : 'u_happy' }));
    const f = run(events);
    expect(f).toHaveLength(1);
    expect(f[0]!.subjects).toEqual({ agents: ['agent-0', 'agent-1', 'agent-2'], users: ['u_0', 'u_2'] });
    expectOrderIndependent([vendorFailureRate], events);
  });

  it('fires when half of the outcomes take longer than 5 s', () => {
    const events = [...outcomes(10, 0, { latencyMs: 5001 }), ...outcomes(10, 0, { fromS: 1 })].sort((a, b) => a.ts - b.ts);
    const f = run(events);
    expect(f).toHaveLength(1);
    expect(f[0]!.summary).toBe('vendor acme-air: 10 of 20 outcomes took longer than 5 s (50%; threshold 50%) in 60 s, at least 20 outcomes needed');
    expect(f[0]!.metrics).toMatchObject({ observed: 0.5, slow: 10, failed: 0, threshold: 0.5 });
  });

  it('stays silent just below the ratio or the count, at exactly 5 s, per vendor, and over more than the window', () => {
    expect(run(outcomes(20, 9))).toEqual([]);
    expect(run(outcomes(19, 19))).toEqual([]);
    expect(run(outcomes(20, 0, { latencyMs: 5000 }))).toEqual([]);
    expect(run([...outcomes(10, 10), ...outcomes(10, 10, { vendor: 'city-cabs' })])).toEqual([]);
    expect(run([...outcomes(10, 10), ...outcomes(10, 10, { fromS: 61 })])).toEqual([]);
  });

  it('fires once while the vendor stays down, and again after it recovered for a window', () => {
    expect(run(outcomes(600, 600, { spanS: 300 }))).toHaveLength(1);
    const events = [...outcomes(100, 100, { spanS: 50 }), ...outcomes(100, 0, { spanS: 100, fromS: 50 }), ...outcomes(100, 100, { spanS: 50, fromS: 200 })];
    expect(run(events)).toHaveLength(2);
  });

  it('keeps evidence bounded and the slice small', () => {
    const events = outcomes(3000, 3000, { spanS: 600 });
    const { findings, slices } = runDetectors([vendorFailureRate], events, { settleAtEnd: false });
    expect(findings[0]!.eventIds.length).toBeLessThanOrEqual(50);
    expect(JSON.stringify([...slices.get('vendor_failure_rate')!.values()]).length).toBeLessThan(20_000);
  });

  it('gives the same findings whatever the arrival order within the lateness and with redeliveries', () => {
    const events = [...outcomes(40, 20, { spanS: 20 }), ...outcomes(30, 8, { spanS: 20, vendor: 'city-cabs' }), ...outcomes(30, 15, { spanS: 10, fromS: 300 })];
    const f = expectOrderIndependent([vendorFailureRate], events);
    expect(f).toHaveLength(2);
    expect(at(0)).toBeLessThan(f[0]!.detectedAt);
  });
});
