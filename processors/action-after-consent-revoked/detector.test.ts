import { beforeEach, describe, expect, it } from 'vitest';
import { actionAfterConsentRevoked } from './detector.ts';
import { runDetectors } from '../testing/run-detectors.ts';
import { expectOrderIndependent } from '../testing/order-independence.ts';
import { actionRequested, at, consentGranted, consentRevoked, intentParsed, resetEventIds } from '../testing/event-builders.ts';
import type { ValidEvent } from '../core/events.ts';

const run = (events: readonly ValidEvent[]) => runDetectors([actionAfterConsentRevoked], events).findings;

describe('action_after_consent_revoked', () => {
  beforeEach(() => resetEventIds());

  it('fires on a request after the user revoked consent, with the revocation and the request as evidence', () => {
    const rev = consentRevoked({ at: 0, traceId: 'ta' });
    const r = actionRequested({ at: 30, traceId: 'tb' });
    const f = run([rev, r]);
    expect(f).toHaveLength(1);
    expect(f[0]).toMatchObject({
      kind: 'action_after_consent_revoked',
      severity: 'critical',
      scope: { type: 'user', id: 'u_1' },
      eventIds: [rev.eventId, r.eventId],
      detectedAt: at(30),
      traceIds: ['ta', 'tb'],
      metrics: { observed: 1, threshold: 1, sinceRevokeMs: 30_000 },
    });
    expect(f[0]!.summary).toBe(
      'user u_1: agent travel-assistant requested flight.book at acme-air 30 s after the user revoked consent (2026-11-20T10:00:00.000Z, not granted since); it must not proceed',
    );
  });

  it('counts a revocation that arrives up to the lateness after the request it precedes', () => {
    expect(run([actionRequested({ at: 10 }), intentParsed({ at: 14.9, intentId: 'x' }), consentRevoked({ at: 9.99 })])).toHaveLength(1);
  });

  it('fires once per revocation, and again after a new revocation', () => {
    const events = [
      consentRevoked({ at: 0 }),
      actionRequested({ at: 1 }),
      actionRequested({ at: 2, intentId: 'i-2' }),
      consentGranted({ at: 3 }),
      consentRevoked({ at: 4 }),
      actionRequested({ at: 5, intentId: 'i-3' }),
    ];
    expect(run(events).map((f) => f.eventIds)).toEqual([
      [events[0]!.eventId, events[1]!.eventId],
      [events[4]!.eventId, events[5]!.eventId],
    ]);
  });

  it('stays silent before the revocation, after a new grant, and for other users', () => {
    expect(run([actionRequested({ at: 0 }), consentRevoked({ at: 1 })])).toEqual([]);
    expect(run([consentRevoked({ at: 0 }), consentGranted({ at: 1 }), actionRequested({ at: 2 })])).toEqual([]);
    expect(run([consentRevoked({ at: 0, userId: 'u_2' }), actionRequested({ at: 2 })])).toEqual([]);
    expect(run([consentGranted({ at: 0 }), actionRequested({ at: 2 })])).toEqual([]);
  });

  it('remembers a revocation for days', () => {
    expect(run([consentRevoked({ at: 0 }), actionRequested({ at: 30 * 86_400 })])).toHaveLength(1);
  });

  it('gives the same findings whatever the arrival order within the lateness and with redeliveries', () => {
    const events = [
      actionRequested({ at: 0.5 }),
      consentRevoked({ at: 1 }),
      actionRequested({ at: 1.5, intentId: 'i-2' }),
      actionRequested({ at: 2, intentId: 'i-3' }),
      consentGranted({ at: 2.5 }),
      actionRequested({ at: 3, intentId: 'i-4' }),
      consentRevoked({ at: 1, userId: 'u_2' }),
      actionRequested({ at: 1.2, userId: 'u_2' }),
    ];
    const f = expectOrderIndependent([actionAfterConsentRevoked], events);
    expect(f.map((x) => x.eventIds)).toEqual([
      [events[1]!.eventId, events[2]!.eventId],
      [events[6]!.eventId, events[7]!.eventId],
    ]);
  });
});
