import { beforeEach, describe, expect, it } from 'vitest';
import { orphanedAction } from './detector.ts';
import { runDetectors } from '../testing/run-detectors.ts';
import { expectOrderIndependent } from '../testing/order-independence.ts';
import { actionFailed, actionRequested, actionSucceeded, at, intentParsed, resetEventIds } from '../testing/event-builders.ts';
import type { ValidEvent } from '../core/events.ts';

const run = (events: readonly ValidEvent[], settleAtEnd = true) => runDetectors([orphanedAction], events, { settleAtEnd }).findings;

describe('orphaned_action', () => {
  beforeEach(() => resetEventIds());

  it('fires when a request gets no outcome for its intent and attempt within 5 min', () => {
    const r = actionRequested({ at: 0, traceId: 'tr' });
    const f = run([r, intentParsed({ at: 306, intentId: 'x' })], false);
    expect(f).toHaveLength(1);
    expect(f[0]).toMatchObject({
      kind: 'orphaned_action',
      severity: 'warning',
      scope: { type: 'vendor', id: 'acme-air' },
      eventIds: [r.eventId],
      detectedAt: at(0),
      traceIds: ['tr'],
      metrics: { observed: 0, threshold: 1, windowMs: 300_000, attempt: 1 },
    });
    expect(f[0]!.summary).toBe(
      'vendor acme-air: flight.book requested by agent travel-assistant (user u_1, intent i-1, attempt 1) got no success or failure within 5 min; it may have happened without the agent knowing',
    );
  });

  it('waits for the watermark to pass the deadline, and settles at the end of a replay', () => {
    expect(run([actionRequested({ at: 0 }), intentParsed({ at: 304, intentId: 'x' })], false)).toEqual([]);
    expect(run([actionRequested({ at: 0 })], true)).toHaveLength(1);
  });

  it('fires when only another attempt got an outcome, or the outcome came too late', () => {
    expect(run([actionRequested({ at: 0 }), actionRequested({ at: 5, attempt: 2 }), actionSucceeded({ at: 6, attempt: 2 })])).toHaveLength(1);
    expect(run([actionRequested({ at: 0 }), actionSucceeded({ at: 301, attempt: 1 })])).toHaveLength(1);
  });

  it('stays silent when a success or a failure came in time, even late in arrival', () => {
    expect(run([actionRequested({ at: 0 }), actionSucceeded({ at: 2, attempt: 1 })])).toEqual([]);
    expect(run([actionRequested({ at: 0 }), actionFailed({ at: 300, attempt: 1 })])).toEqual([]);
    expect(run([actionRequested({ at: 0 }), intentParsed({ at: 304.9, intentId: 'x' }), actionSucceeded({ at: 299, attempt: 1 })], false)).toEqual([]);
    expect(run([actionRequested({ at: 0 }), actionSucceeded({ at: 2, attempt: undefined })])).toEqual([]);
  });

  it('reports one orphan per intent', () => {
    const events = [actionRequested({ at: 0 }), actionRequested({ at: 5, attempt: 2 }), actionRequested({ at: 10, attempt: 3 })];
    expect(run(events).map((f) => f.eventIds)).toEqual([[events[0]!.eventId]]);
  });

  it('gives the same findings whatever the arrival order within the lateness and with redeliveries', () => {
    const events = [
      actionRequested({ at: 0 }),
      actionSucceeded({ at: 1, attempt: 1 }),
      actionRequested({ at: 0.5, intentId: 'i-2' }),
      actionFailed({ at: 1, intentId: 'i-2', attempt: 1 }),
      actionRequested({ at: 1.5, intentId: 'i-2', attempt: 2 }),
      actionRequested({ at: 2, intentId: 'i-3' }),
      actionSucceeded({ at: 2.5, intentId: 'i-3', attempt: 1 }),
      intentParsed({ at: 400, intentId: 'x' }),
    ];
    const f = expectOrderIndependent([orphanedAction], events);
    expect(f.map((x) => x.eventIds)).toEqual([[events[4]!.eventId]]);
  });
});
