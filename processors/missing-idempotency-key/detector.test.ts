import { beforeEach, describe, expect, it } from 'vitest';
import { missingIdempotencyKey } from './detector.ts';
import { runDetectors } from '../testing/run-detectors.ts';
import { expectOrderIndependent } from '../testing/order-independence.ts';
import { actionRequested, actionSucceeded, at, resetEventIds } from '../testing/event-builders.ts';

const run = (events: Parameters<typeof runDetectors>[1]) => runDetectors([missingIdempotencyKey], events).findings;

describe('missing_idempotency_key', () => {
  beforeEach(() => resetEventIds());

  it('fires on a state-changing request without a key, once per intent', () => {
    const first = actionRequested({ at: 2, idempotencyKey: undefined, traceId: 'tr1' });
    const retry = actionRequested({ at: 4, attempt: 2, idempotencyKey: undefined });
    const f = run([first, retry]);
    expect(f).toHaveLength(1);
    expect(f[0]).toMatchObject({
      kind: 'missing_idempotency_key',
      severity: 'warning',
      scope: { type: 'agent', id: 'travel-assistant' },
      eventIds: [first.eventId],
      detectedAt: at(2),
      traceIds: ['tr1'],
      metrics: { observed: 1, threshold: 1, attempt: 1 },
    });
    expect(f[0]!.summary).toBe(
      'agent travel-assistant requested state-changing flight.book at acme-air without an idempotency key (user u_1, intent i-1, attempt 1); a retry could do it twice',
    );
  });

  it('fires per intent', () => {
    expect(run([actionRequested({ at: 0, idempotencyKey: undefined }), actionRequested({ at: 1, idempotencyKey: undefined, intentId: 'i-2' })])).toHaveLength(2);
  });

  it('stays silent on requests with a key, read-only requests, and outcomes without a key', () => {
    expect(run([actionRequested({ at: 0 })])).toEqual([]);
    expect(run([actionRequested({ at: 0, idempotencyKey: undefined, action: { stateChanging: false, riskTier: 'low' } })])).toEqual([]);
    expect(run([actionSucceeded({ at: 0, idempotencyKey: undefined })])).toEqual([]);
  });

  it('gives the same findings whatever the arrival order within the lateness and with redeliveries', () => {
    const events = [1, 2, 3, 4].flatMap((n) => [
      actionRequested({ at: n, attempt: n, idempotencyKey: undefined }),
      actionRequested({ at: n + 0.5, attempt: n, intentId: 'i-2', idempotencyKey: undefined }),
      actionRequested({ at: n + 0.7, attempt: n, intentId: 'i-3' }),
    ]);
    const f = expectOrderIndependent([missingIdempotencyKey], events);
    expect(f.map((x) => x.eventIds)).toEqual([[events[0]!.eventId], [events[1]!.eventId]]);
  });
});
