import { beforeEach, describe, expect, it } from 'vitest';
import { duplicateAction } from './detector.ts';
import { runDetectors } from '../testing/run-detectors.ts';
import { expectOrderIndependent } from '../testing/order-independence.ts';
import { actionSucceeded, at, resetEventIds, type EventOverrides } from '../testing/event-builders.ts';

const run = (events: Parameters<typeof runDetectors>[1]) => runDetectors([duplicateAction], events).findings;
const ok = (s: number, key: string | undefined, ref: string | undefined, o: EventOverrides = {}) =>
  actionSucceeded({ at: s, idempotencyKey: key, outcome: { status: 'ok', vendorRef: ref }, ...o });

describe('duplicate_action', () => {
  beforeEach(() => resetEventIds());

  it('fires on two successes of one payload under different idempotency keys', () => {
    const a = ok(0, 'idk-1', 'VR1', { traceId: 'ta' });
    const b = ok(120, 'idk-2', 'VR2', { traceId: 'tb' });
    const f = run([a, b]);
    expect(f).toHaveLength(1);
    expect(f[0]).toMatchObject({
      kind: 'duplicate_action',
      severity: 'critical',
      scope: { type: 'user', id: 'u_1' },
      eventIds: [a.eventId, b.eventId],
      detectedAt: at(120),
      traceIds: ['ta', 'tb'],
      metrics: { observed: 2, threshold: 2, windowMs: 600_000, gapMs: 120_000 },
    });
    expect(f[0]!.summary).toBe(
      'user u_1: agent travel-assistant did flight.book at acme-air twice with the same payload 2 min apart under different idempotency keys (window 10 min); one of them likely needs compensation',
    );
  });

  it('fires on two successes under one key with different vendor refs', () => {
    const f = run([ok(0, 'idk-1', 'VR1'), ok(5, 'idk-1', 'VR2')]);
    expect(f).toHaveLength(1);
    expect(f[0]!.summary).toContain('under one idempotency key with vendor refs VR1 and VR2');
  });

  it('stays silent on a replayed vendor response (same key, same vendorRef)', () => {
    expect(run([ok(0, 'idk-1', 'VR1'), ok(5, 'idk-1', 'VR1'), ok(9, 'idk-1', 'VR1')])).toEqual([]);
  });

  it('stays silent on two bookings of different payloads, other users, read-only actions, and outside 10 min', () => {
    expect(run([ok(0, 'idk-1', 'VR1', { payloadHash: 'sha256:a' }), ok(5, 'idk-2', 'VR2', { payloadHash: 'sha256:b' })])).toEqual([]);
    expect(run([ok(0, 'idk-1', 'VR1'), ok(5, 'idk-2', 'VR2', { userId: 'u_2' })])).toEqual([]);
    expect(run([ok(0, 'idk-1', 'VR1', { action: { stateChanging: false } }), ok(5, 'idk-2', 'VR2', { action: { stateChanging: false } })])).toEqual([]);
    expect(run([ok(0, 'idk-1', 'VR1'), ok(601, 'idk-2', 'VR2')])).toEqual([]);
    expect(run([ok(0, 'idk-1', 'VR1', { action: { vendor: 'other' } }), ok(5, 'idk-2', 'VR2')])).toEqual([]);
  });

  it('treats successes without a key as different keys, unless the vendorRef is the same', () => {
    expect(run([ok(0, undefined, undefined), ok(5, undefined, undefined)])).toHaveLength(1);
    expect(run([ok(0, undefined, 'VR1'), ok(5, undefined, 'VR1')])).toEqual([]);
  });

  it('fires once for a triple booking', () => {
    const events = [ok(0, 'a', 'V1'), ok(10, 'b', 'V2'), ok(20, 'c', 'V3')];
    const f = run(events);
    expect(f).toHaveLength(1);
    expect(f[0]!.eventIds).toEqual([events[0]!.eventId, events[1]!.eventId]);
  });

  it('gives the same findings whatever the arrival order within the lateness and with redeliveries', () => {
    const events = [
      ok(0, 'idk-1', 'VR1'),
      ok(1, 'idk-1', 'VR1'),
      ok(2, 'idk-2', 'VR2'),
      ok(2.5, 'idk-3', 'VR3'),
      ok(1, 'k', 'R1', { userId: 'u_2' }),
      ok(3, 'k', 'R1', { userId: 'u_2' }),
    ];
    const f = expectOrderIndependent([duplicateAction], events);
    expect(f).toHaveLength(1);
    expect(f[0]!.eventIds).toEqual([events[0]!.eventId, events[2]!.eventId]);
  });
});
