import { beforeEach, describe, expect, it } from 'vitest';
import { idempotencyKeyReuse } from './detector.ts';
import { runDetectors } from '../testing/run-detectors.ts';
import { expectOrderIndependent } from '../testing/order-independence.ts';
import { actionRequested, actionSucceeded, at, resetEventIds } from '../testing/event-builders.ts';

const run = (events: Parameters<typeof runDetectors>[1]) => runDetectors([idempotencyKeyReuse], events).findings;

describe('idempotency_key_reuse', () => {
  beforeEach(() => resetEventIds());

  it('fires when one key is requested with two payloads, with both requests as evidence', () => {
    const a = actionRequested({ at: 0, idempotencyKey: 'idk-9', payloadHash: 'sha256:aaa', traceId: 'ta' });
    const b = actionRequested({ at: 30, idempotencyKey: 'idk-9', payloadHash: 'sha256:bbb', attempt: 2, traceId: 'tb' });
    const f = run([a, b]);
    expect(f).toHaveLength(1);
    expect(f[0]).toMatchObject({
      kind: 'idempotency_key_reuse',
      severity: 'critical',
      scope: { type: 'agent', id: 'travel-assistant' },
      eventIds: [a.eventId, b.eventId],
      detectedAt: at(30),
      traceIds: ['ta', 'tb'],
      metrics: { observed: 2, threshold: 2, windowMs: 86_400_000, gapMs: 30_000 },
    });
    expect(f[0]!.summary).toContain('reused idempotency key idk-9 of user u_1 for a different payload (sha256:aaa then sha256:bbb');
  });

  it('stays silent on retries with the same key and payload', () => {
    const events = [1, 2, 3, 4].map((n) => actionRequested({ at: n, attempt: n }));
    expect(run(events)).toEqual([]);
  });

  it('stays silent when the two payloads are more than 24 h apart, or under different keys or users', () => {
    expect(run([actionRequested({ at: 0, payloadHash: 'sha256:a' }), actionRequested({ at: 86_401, payloadHash: 'sha256:b' })])).toEqual([]);
    expect(run([actionRequested({ at: 0, payloadHash: 'sha256:a' }), actionRequested({ at: 1, payloadHash: 'sha256:b', idempotencyKey: 'idk-2' })])).toEqual([]);
    expect(run([actionRequested({ at: 0, payloadHash: 'sha256:a' }), actionRequested({ at: 1, payloadHash: 'sha256:b', userId: 'u_2' })])).toEqual([]);
  });

  it('ignores outcomes (only requests carry the reuse)', () => {
    expect(run([actionRequested({ at: 0, payloadHash: 'sha256:a' }), actionSucceeded({ at: 1, payloadHash: 'sha256:b' })])).toEqual([]);
  });

  it('fires once per key even with a third payload', () => {
    const events = ['a', 'b', 'c'].map((h, n) => actionRequested({ at: n, payloadHash: `sha256:${h}` }));
    const f = run(events);
    expect(f).toHaveLength(1);
    expect(f[0]!.eventIds).toEqual([events[0]!.eventId, events[1]!.eventId]);
  });

  it('gives the same findings whatever the arrival order within the lateness and with redeliveries', () => {
    const events = [
      ...[1, 2, 3].map((n) => actionRequested({ at: n, attempt: n, payloadHash: 'sha256:a' })),
      actionRequested({ at: 3.5, attempt: 4, payloadHash: 'sha256:b' }),
      actionRequested({ at: 4, attempt: 5, payloadHash: 'sha256:c' }),
      ...[1, 2].map((n) => actionRequested({ at: 2 + n, idempotencyKey: 'idk-x', payloadHash: 'sha256:a' })),
    ];
    const f = expectOrderIndependent([idempotencyKeyReuse], events);
    expect(f).toHaveLength(1);
    expect(f[0]!.eventIds).toEqual([events[0]!.eventId, events[3]!.eventId]);
  });
});
