import { beforeEach, describe, expect, it } from 'vitest';
import { missingStepUp } from './detector.ts';
import { runDetectors } from '../testing/run-detectors.ts';
import { expectOrderIndependent } from '../testing/order-independence.ts';
import { actionRequested, at, intentParsed, resetEventIds, stepupFailed, stepupPassed, stepupRequested } from '../testing/event-builders.ts';

const run = (events: Parameters<typeof runDetectors>[1]) => runDetectors([missingStepUp], events).findings;

describe('missing_step_up', () => {
  beforeEach(() => resetEventIds());

  it('fires on a high-risk request with no passed step-up for its intent', () => {
    const r = actionRequested({ at: 10, traceId: 'tr' });
    const f = run([stepupRequested({ at: 1 }), stepupFailed({ at: 5 }), r]);
    expect(f).toHaveLength(1);
    expect(f[0]).toMatchObject({
      kind: 'missing_step_up',
      severity: 'critical',
      scope: { type: 'agent', id: 'travel-assistant' },
      eventIds: [r.eventId],
      detectedAt: at(10),
      traceIds: ['tr'],
      metrics: { observed: 0, threshold: 1, windowMs: 900_000 },
    });
    expect(f[0]!.summary).toBe(
      'agent travel-assistant requested high-risk flight.book at acme-air (attempt 1) with no passed step-up in the 15 min before it (user u_1, intent i-1)',
    );
  });

  it('fires on a retry made after the step-up went stale, once per intent', () => {
    const events = [stepupPassed({ at: 0 }), actionRequested({ at: 1 }), actionRequested({ at: 1000, attempt: 2 }), actionRequested({ at: 1001, attempt: 3 })];
    const f = run(events);
    expect(f).toHaveLength(1);
    expect(f[0]!.eventIds).toEqual([events[2]!.eventId]);
  });

  it('stays silent with a passed step-up, with one that arrives up to the lateness late, and on medium or low risk', () => {
    expect(run([stepupPassed({ at: 0 }), actionRequested({ at: 1 })])).toEqual([]);
    expect(run([actionRequested({ at: 10 }), intentParsed({ at: 14.9, intentId: 'x' }), stepupPassed({ at: 9.99 })])).toEqual([]);
    expect(run([actionRequested({ at: 1, action: { riskTier: 'medium' } })])).toEqual([]);
    expect(run([actionRequested({ at: 1, action: { riskTier: 'low' } })])).toEqual([]);
  });

  it('honours a shorter window from the policy', () => {
    const events = [stepupPassed({ at: 0 }), actionRequested({ at: 120 })];
    expect(runDetectors([missingStepUp], events, { params: { missing_step_up: { windowMs: 60_000 } } }).findings).toHaveLength(1);
  });

  it('remembers a step-up for a longer window from the policy', () => {
    const events = [stepupPassed({ at: 0 }), intentParsed({ at: 1500, intentId: 'x' }), actionRequested({ at: 1800 })];
    expect(runDetectors([missingStepUp], events, { params: { missing_step_up: { windowMs: 3_600_000 } } }).findings).toEqual([]);
    expect(runDetectors([missingStepUp], events).findings).toHaveLength(1);
  });

  it('gives the same findings whatever the arrival order within the lateness and with redeliveries', () => {
    const events = [
      stepupPassed({ at: 1 }),
      actionRequested({ at: 1.1 }),
      actionRequested({ at: 1.3, intentId: 'i-2' }),
      stepupPassed({ at: 1.5, intentId: 'i-2' }),
      actionRequested({ at: 2, intentId: 'i-3' }),
      actionRequested({ at: 3, intentId: 'i-3', attempt: 2 }),
    ];
    const f = expectOrderIndependent([missingStepUp], events);
    expect(f.map((x) => x.eventIds)).toEqual([[events[2]!.eventId], [events[4]!.eventId]]);
  });
});
