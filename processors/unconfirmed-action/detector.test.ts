import { beforeEach, describe, expect, it } from 'vitest';
import { unconfirmedAction } from './detector.ts';
import { runDetectors } from '../testing/run-detectors.ts';
import { expectOrderIndependent } from '../testing/order-independence.ts';
import { actionRequested, at, confirmationAccepted, confirmationRejected, intentParsed, resetEventIds } from '../testing/event-builders.ts';

const run = (events: Parameters<typeof runDetectors>[1]) => runDetectors([unconfirmedAction], events).findings;

describe('unconfirmed_action', () => {
  beforeEach(() => resetEventIds());

  it('fires on a high-risk request with no accepted confirmation for its intent', () => {
    const r = actionRequested({ at: 10, traceId: 'tr' });
    const f = run([intentParsed({ at: 0 }), r]);
    expect(f).toHaveLength(1);
    expect(f[0]).toMatchObject({
      kind: 'unconfirmed_action',
      severity: 'critical',
      scope: { type: 'agent', id: 'travel-assistant' },
      eventIds: [r.eventId],
      detectedAt: at(10),
      traceIds: ['tr'],
      metrics: { observed: 0, threshold: 1, windowMs: 900_000 },
    });
    expect(f[0]!.summary).toBe(
      'agent travel-assistant requested high-risk flight.book at acme-air with no accepted confirmation in the 15 min before it (user u_1, intent i-1)',
    );
  });

  it('fires on medium risk, on a rejected confirmation, on another intent\'s confirmation, and on a confirmation older than 15 min', () => {
    expect(run([actionRequested({ at: 1, action: { riskTier: 'medium' } })])).toHaveLength(1);
    expect(run([confirmationRejected({ at: 0 }), actionRequested({ at: 1 })])).toHaveLength(1);
    expect(run([confirmationAccepted({ at: 0, intentId: 'i-2' }), actionRequested({ at: 1 })])).toHaveLength(1);
    expect(run([confirmationAccepted({ at: 0 }), actionRequested({ at: 901 })])).toHaveLength(1);
    expect(run([confirmationAccepted({ at: 0, userId: 'u_2' }), actionRequested({ at: 1 })])).toHaveLength(1);
  });

  it('stays silent with a confirmation before the request, at its very time, or within 15 min', () => {
    expect(run([confirmationAccepted({ at: 0 }), actionRequested({ at: 1 })])).toEqual([]);
    expect(run([confirmationAccepted({ at: 1 }), actionRequested({ at: 1 })])).toEqual([]);
    expect(run([confirmationAccepted({ at: 0 }), actionRequested({ at: 899 })])).toEqual([]);
  });

  it('counts a confirmation that arrives up to the lateness after the request it precedes', () => {
    const events = [actionRequested({ at: 10 }), intentParsed({ at: 14.9, intentId: 'x' }), confirmationAccepted({ at: 9.95 })];
    expect(run(events)).toEqual([]);
  });

  it('does not wait beyond the lateness: a confirmation later than that is too late', () => {
    const events = [actionRequested({ at: 10 }), intentParsed({ at: 15.5, intentId: 'x' }), confirmationAccepted({ at: 9.95 })];
    expect(run(events)).toHaveLength(1);
  });

  it('stays silent on low-risk actions and on retries', () => {
    expect(run([actionRequested({ at: 1, action: { riskTier: 'low' } })])).toEqual([]);
    expect(run([actionRequested({ at: 1, attempt: 2 })])).toEqual([]);
  });

  it('gives the same findings whatever the arrival order within the lateness and with redeliveries', () => {
    const events = [
      confirmationAccepted({ at: 1 }),
      actionRequested({ at: 1.2 }),
      actionRequested({ at: 1.3, intentId: 'i-2' }),
      confirmationAccepted({ at: 1.4, intentId: 'i-2' }),
      actionRequested({ at: 2, intentId: 'i-3', userId: 'u_3' }),
      confirmationAccepted({ at: 2.5, intentId: 'i-4' }),
      actionRequested({ at: 3, intentId: 'i-4' }),
    ];
    const f = expectOrderIndependent([unconfirmedAction], events);
    expect(f.map((x) => x.eventIds)).toEqual([[events[2]!.eventId], [events[4]!.eventId]]);
  });
});
