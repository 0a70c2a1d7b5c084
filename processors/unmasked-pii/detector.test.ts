import { beforeEach, describe, expect, it } from 'vitest';
import { liveAndTimeOrder } from '../testing/backlog-interleave.ts';
import { unmaskedPii, IDENTIFIER_FIELDS } from './detector.ts';
import { runDetectors } from '../testing/run-detectors.ts';
import { expectOrderIndependent } from '../testing/order-independence.ts';
import { actionRequested, at, intentParsed, resetEventIds } from '../testing/event-builders.ts';

const run = (events: Parameters<typeof runDetectors>[1]) => runDetectors([unmaskedPii], events).findings;

const PII: [string, string, string][] = [
  ['an e-mail address', 'email', 'jane.doe@example.com'],
  ['a phone number', 'phone', '+14155550123'],
  ['a card number', 'card', '4111111111111111'],
];

describe('unmasked_pii', () => {
  beforeEach(() => resetEventIds());

  for (const field of IDENTIFIER_FIELDS) {
    it.each(PII)(`fires on ${field} holding %s`, (what, _kind, value) => {
      const e = actionRequested({ at: 1, [field]: value, traceId: 'tr' });
      const f = run([e]);
      expect(f).toHaveLength(1);
      expect(f[0]).toMatchObject({
        kind: 'unmasked_pii',
        severity: 'critical',
        scope: { type: 'agent', id: 'travel-assistant' },
        eventIds: [e.eventId],
        detectedAt: at(1),
        traceIds: ['tr'],
      });
      expect(f[0]!.summary).toBe(
        `agent travel-assistant put ${what} in ${field} (first in event ${e.eventId}, action.requested); identifiers must be pseudonymous: mask it at the source and purge what was stored`,
      );
      expect(f[0]!.summary).not.toContain(value);
    });
  }

  it.each([
    ['a uuid-ish id', 'i-d016a515-b437-4c74-a8c6-cf84f37b643b'],
    ['a Luhn-invalid digit string', '4111111111111112'],
    ['a short pseudonymous id', 'u_0108'],
    ['an all-digit uuid', '12345678-1234-5678-9012-345678901234'],
    ['a dated id', 'r-2026-11-20-0001'],
  ])('stays silent on %s', (_what, value) => {
    for (const field of IDENTIFIER_FIELDS) expect(run([actionRequested({ at: 1, [field]: value })])).toEqual([]);
  });

  it('does not look at fields that are not identifiers', () => {
    expect(run([actionRequested({ at: 1, tenantId: 'jane@example.com', agentVersion: '+14155550123' })])).toEqual([]);
  });

  it('fires once per agent, field and kind per episode, and again after an hour of quiet', () => {
    const leaky = (s: number) => intentParsed({ at: s, userId: 'jane@example.com' });
    expect(run([leaky(0), leaky(10), leaky(1000), leaky(3000)])).toHaveLength(1);
    expect(run([leaky(0), leaky(10), leaky(3700)])).toHaveLength(2);
    expect(run([leaky(0), intentParsed({ at: 1, sessionId: 'jane@example.com' }), intentParsed({ at: 2, sessionId: '+14155550123' })])).toHaveLength(3);
    expect(run([leaky(0), intentParsed({ at: 1, agentId: 'other', userId: 'jane@example.com' })])).toHaveLength(2);
  });

  it('gives the same findings whatever the arrival order within the lateness and with redeliveries', () => {
    const events = [
      ...[0, 0.5, 1, 1.5, 2].map((s) => intentParsed({ at: s, userId: 'jane@example.com' })),
      ...[0.2, 0.7].map((s) => actionRequested({ at: s, idempotencyKey: '4111 1111 1111 1111' })),
      ...[0.1, 0.3].map((s) => actionRequested({ at: s })),
    ];
    const f = expectOrderIndependent([unmaskedPii], events);
    expect(f.map((x) => x.eventIds)).toEqual([[events[0]!.eventId], [events[5]!.eventId]]);
  });

  it('makes episodes of the leak times, whatever order partitions deliver them in (a backlog)', () => {
    // Leaks at 0 and 100 min (user u_a, partition 0) and 50 min (u_b, partition 1): one episode, gaps
    // of 50 min. Live, partition 0 runs ahead: the watermark reports the leak at 0 before the one at 50
    // min arrives, and the leak at 100 min must not start an episode of its own.
    const leak = (s: number, userId: string) => intentParsed({ at: s, userId, sessionId: 'jane@example.com' });
    const first = leak(0, 'u_a');
    const { live, ordered } = liveAndTimeOrder([unmaskedPii], [
      [1, intentParsed({ at: 600, userId: 'u_b' })],
      [0, first],
      [0, intentParsed({ at: 20, userId: 'u_a' })],
      [0, leak(6000, 'u_a')],
      [1, leak(3000, 'u_b')],
    ]);
    expect(ordered.map((f) => f.eventIds)).toEqual([[first.eventId]]);
    expect(live.map((f) => f.findingId)).toEqual(ordered.map((f) => f.findingId));
  });

  it('reads a slice stored before episodes (one entry per field and kind) as its one episode', () => {
    const e0 = intentParsed({ at: 0, userId: 'jane@example.com' });
    const old = { agentId: 'travel-assistant', l: [{ field: 'userId', pii: 'email', c: { t: e0.ts, id: e0.eventId, type: e0.type }, done: false, last: e0.ts }], last: e0.ts, quietMs: 3_600_000 };
    const found: string[][] = [];
    const ctx = { latenessMs: 5000, watermark: e0.ts - 5000, params: unmaskedPii.defaults, emit: (d: { eventIds: string[] }) => found.push(d.eventIds) };
    const s = unmaskedPii.onEvent(structuredClone(old) as never, intentParsed({ at: 10, userId: 'jane@example.com' }), ctx);
    expect(unmaskedPii.nextDue!(s)).toBe(e0.ts);
    unmaskedPii.onWatermark!(s, e0.ts + 60_000, ctx);
    expect(found).toEqual([[e0.eventId]]);
  });
});
