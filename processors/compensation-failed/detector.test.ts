import { beforeEach, describe, expect, it } from 'vitest';
import { liveAndTimeOrder } from '../testing/backlog-interleave.ts';
import { compensationFailed } from './detector.ts';
import { runDetectors } from '../testing/run-detectors.ts';
import { expectOrderIndependent } from '../testing/order-independence.ts';
import { at, compensationFailed as failed, compensationRequested, compensationSucceeded, intentParsed, resetEventIds } from '../testing/event-builders.ts';
import type { ValidEvent } from '../core/events.ts';

const run = (events: readonly ValidEvent[], settleAtEnd = true) => runDetectors([compensationFailed], events, { settleAtEnd }).findings;

describe('compensation_failed', () => {
  beforeEach(() => resetEventIds());

  it('fires on a failed compensation, with the request and the failure as evidence', () => {
    const req = compensationRequested({ at: 0, traceId: 'tr' });
    const fail = failed({ at: 3, outcome: { status: 'error', errorCode: 'E_LOCKED' }, traceId: 'tr' });
    const f = run([req, fail]);
    expect(f).toHaveLength(1);
    expect(f[0]).toMatchObject({
      kind: 'compensation_failed',
      severity: 'critical',
      scope: { type: 'vendor', id: 'acme-air' },
      eventIds: [req.eventId, fail.eventId],
      detectedAt: at(3),
      traceIds: ['tr'],
      metrics: { observed: 1, threshold: 1 },
    });
    expect(f[0]!.summary).toBe(
      'vendor acme-air: cancel compensation for event e-booked (user u_1, agent travel-assistant) failed (error, E_LOCKED); the user may still be charged or booked: handle it by hand',
    );
  });

  it('fires when a requested compensation does not succeed within 10 min', () => {
    const req = compensationRequested({ at: 0 });
    const f = run([req, intentParsed({ at: 606, intentId: 'x' })], false);
    expect(f).toHaveLength(1);
    expect(f[0]).toMatchObject({ eventIds: [req.eventId], metrics: { observed: 0, threshold: 1, windowMs: 600_000 } });
    expect(f[0]!.summary).toContain('did not succeed within 10 min');
    expect(run([req, compensationSucceeded({ at: 601 })])).toHaveLength(1);
  });

  it('stays silent when the compensation succeeds in time, even arriving late, and before the deadline passes', () => {
    expect(run([compensationRequested({ at: 0 }), compensationSucceeded({ at: 60 })])).toEqual([]);
    expect(run([compensationRequested({ at: 0 }), intentParsed({ at: 604.9, intentId: 'x' }), compensationSucceeded({ at: 599 })], false)).toEqual([]);
    expect(run([compensationRequested({ at: 0 }), intentParsed({ at: 604, intentId: 'x' })], false)).toEqual([]);
    expect(run([compensationRequested({ at: 0 }), compensationSucceeded({ at: 60, compensation: { forEventId: 'other', kind: 'cancel' } })])).toHaveLength(1);
  });

  it('reports once per compensation', () => {
    const events = [compensationRequested({ at: 0 }), failed({ at: 1 }), failed({ at: 2 }), intentParsed({ at: 1000, intentId: 'x' })];
    expect(run(events)).toHaveLength(1);
  });

  it('gives the same findings whatever the arrival order within the lateness and with redeliveries', () => {
    const refund = { forEventId: 'e-paid', kind: 'refund' as const };
    const events = [
      compensationRequested({ at: 0 }),
      failed({ at: 1 }),
      failed({ at: 1.5 }),
      compensationRequested({ at: 0.5, compensation: refund }),
      compensationSucceeded({ at: 2, compensation: refund }),
      compensationRequested({ at: 1, userId: 'u_2' }),
      intentParsed({ at: 700, intentId: 'x' }),
    ];
    const f = expectOrderIndependent([compensationFailed], events);
    expect(f.map((x) => x.eventIds)).toEqual([[events[0]!.eventId, events[1]!.eventId], [events[5]!.eventId]]);
  });

  it('still reports a failure when its slice gets a later event while a slower partition holds the watermark back', () => {
    // The failure at 0 and a success 20 min later (past the slice's memory): in event-time order the
    // failure is reported first; live, partition 1 (another user) holds the watermark at about 0, and the
    // success must not wipe the unreported failure. Its slice is the user's: it settles on its own time.
    const fail = failed({ at: 0 });
    const { live, ordered } = liveAndTimeOrder([compensationFailed], [
      [1, intentParsed({ at: 0, userId: 'u_2' })],
      [0, fail],
      [0, compensationSucceeded({ at: 1200 })],
    ]);
    expect(ordered.map((f) => f.eventIds)).toEqual([[fail.eventId]]);
    expect(live.map((f) => f.findingId)).toEqual(ordered.map((f) => f.findingId));
  });
});
