import { beforeEach, describe, expect, it } from 'vitest';
import { confirmationMismatch } from './detector.ts';
import { runDetectors } from '../testing/run-detectors.ts';
import { expectOrderIndependent } from '../testing/order-independence.ts';
import { actionRequested, at, confirmationAccepted, confirmationRequested, intentParsed, resetEventIds } from '../testing/event-builders.ts';

const run = (events: Parameters<typeof runDetectors>[1]) => runDetectors([confirmationMismatch], events).findings;

describe('confirmation_mismatch', () => {
  beforeEach(() => resetEventIds());

  it('fires when the request carries another payload than the accepted confirmation', () => {
    const c = confirmationAccepted({ at: 5, payloadHash: 'sha256:ok', traceId: 'tr' });
    const r = actionRequested({ at: 10, payloadHash: 'sha256:other', traceId: 'tr' });
    const f = run([c, r]);
    expect(f).toHaveLength(1);
    expect(f[0]).toMatchObject({
      kind: 'confirmation_mismatch',
      severity: 'critical',
      scope: { type: 'agent', id: 'travel-assistant' },
      eventIds: [c.eventId, r.eventId],
      detectedAt: at(10),
      traceIds: ['tr'],
    });
    expect(f[0]!.summary).toBe(
      'agent travel-assistant requested flight.book at acme-air with payload sha256:other, but user u_1 confirmed sha256:ok (intent i-1); the action is not what the user agreed to',
    );
  });

  it('fires on a retry whose payload drifted from the confirmed one', () => {
    const events = [confirmationAccepted({ at: 0 }), actionRequested({ at: 1 }), actionRequested({ at: 2, attempt: 2, payloadHash: 'sha256:p2' })];
    expect(run(events).map((f) => f.eventIds)).toEqual([[events[0]!.eventId, events[2]!.eventId]]);
  });

  it('stays silent when the payloads match, with no confirmation, or when the user re-confirmed the new payload', () => {
    expect(run([confirmationAccepted({ at: 0 }), actionRequested({ at: 1 })])).toEqual([]);
    expect(run([actionRequested({ at: 1, payloadHash: 'sha256:x' })])).toEqual([]);
    expect(run([confirmationRequested({ at: 0, payloadHash: 'sha256:x' }), actionRequested({ at: 1 })])).toEqual([]);
    expect(run([confirmationAccepted({ at: 0, payloadHash: 'sha256:a' }), confirmationAccepted({ at: 1, payloadHash: 'sha256:b' }), actionRequested({ at: 2, payloadHash: 'sha256:b' })])).toEqual([]);
    expect(run([confirmationAccepted({ at: 0, payloadHash: 'sha256:a', intentId: 'i-2' }), actionRequested({ at: 2, payloadHash: 'sha256:b' })])).toEqual([]);
  });

  it('takes a re-confirmation that arrives up to the lateness after the request it precedes', () => {
    const events = [
      confirmationAccepted({ at: 0, payloadHash: 'sha256:a' }),
      actionRequested({ at: 10, payloadHash: 'sha256:b' }),
      intentParsed({ at: 14.9, intentId: 'x' }),
      confirmationAccepted({ at: 9, payloadHash: 'sha256:b' }),
    ];
    expect(run(events)).toEqual([]);
  });

  it('gives the same findings whatever the arrival order within the lateness and with redeliveries', () => {
    const events = [
      confirmationAccepted({ at: 1, payloadHash: 'sha256:a' }),
      actionRequested({ at: 1.5, payloadHash: 'sha256:a' }),
      confirmationAccepted({ at: 2, payloadHash: 'sha256:b' }),
      actionRequested({ at: 2.5, payloadHash: 'sha256:c', attempt: 2 }),
      actionRequested({ at: 3, payloadHash: 'sha256:d', attempt: 3 }),
      confirmationAccepted({ at: 1, intentId: 'i-2' }),
      actionRequested({ at: 1.2, intentId: 'i-2' }),
    ];
    const f = expectOrderIndependent([confirmationMismatch], events);
    expect(f.map((x) => x.eventIds)).toEqual([[events[2]!.eventId, events[3]!.eventId]]);
  });
});
