import { beforeEach, describe, expect, it } from 'vitest';
import { liveAndTimeOrder } from '../testing/backlog-interleave.ts';
import { retrySpike } from './detector.ts';
import { runDetectors } from '../testing/run-detectors.ts';
import { expectOrderIndependent } from '../testing/order-independence.ts';
import { actionRequested, at, ids, resetEventIds } from '../testing/event-builders.ts';

/** `n` retries (attempt 2, each of its own intent) one every `everyS` seconds from `fromS`. */
function retries(n: number, fromS = 0, everyS = 1, agentId = 'travel-assistant') {
  return Array.from({ length: n }, (_, k) =>
    actionRequested({ at: fromS + k * everyS, attempt: 2, intentId: `i-${fromS}-${k}`, agentId, traceId: `t${k}` }),
  );
}

const run = (events: ReturnType<typeof retries>, params = {}) =>
  runDetectors([retrySpike], events, { params: { retry_spike: params } }).findings;

describe('retry_spike', () => {
  beforeEach(() => resetEventIds());

  it('fires once when an agent makes 30 retries within 60 s, with the retries as evidence', () => {
    const events = retries(30, 0, 2); // 30 retries over 58 s
    const f = run(events);
    expect(f).toHaveLength(1);
    expect(f[0]).toMatchObject({
      kind: 'retry_spike',
      severity: 'warning',
      scope: { type: 'agent', id: 'travel-assistant' },
      eventIds: ids(events),
      detectedAt: at(58),
      metrics: { observed: 30, threshold: 30, windowMs: 60_000, topAttempt: 2 },
    });
    expect(f[0]!.summary).toBe('agent travel-assistant made 30 retries in 60 s (threshold 30); top intent i-0-0 reached attempt 2');
    expect(f[0]!.traceIds).toHaveLength(30);
  });

  it('stays silent just below the threshold, and when the retries spread over more than the window', () => {
    expect(run(retries(29, 0, 2))).toEqual([]);
    expect(run(retries(30, 0, 2.1))).toEqual([]); // 30 retries over 60.9 s: no 60 s window holds 30
  });

  it('does not count first attempts', () => {
    const events = Array.from({ length: 40 }, (_, k) => actionRequested({ at: k, attempt: 1, intentId: `i-${k}` }));
    expect(run(events)).toEqual([]);
  });

  it('counts each agent on its own', () => {
    const events = [...retries(20, 0, 1, 'a1'), ...retries(20, 0, 1, 'a2')].sort((a, b) => a.ts - b.ts);
    expect(run(events)).toEqual([]);
  });

  it('keeps evidence bounded to the threshold when a bucket holds many retries', () => {
    const events = Array.from({ length: 80 }, (_, k) => actionRequested({ at: k / 100, attempt: 2, intentId: `i-${k}` }));
    const f = run(events);
    expect(f).toHaveLength(1);
    expect(f[0]!.eventIds).toEqual([...ids(events.slice(0, 29)), events[79]!.eventId]);
    expect(f[0]!.metrics?.observed).toBe(80);
  });

  it('fires once for a storm that goes on, and again after a quiet window', () => {
    const storm = retries(200, 0, 0.5); // 100 s of 2 retries/s
    expect(run(storm)).toHaveLength(1);
    const again = retries(40, 200, 1); // 100 s of quiet, then a new storm
    const f = run([...storm, ...again]);
    expect(f).toHaveLength(2);
    expect(f[1]!.detectedAt).toBe(at(229));
  });

  it('can be tuned by parameters', () => {
    expect(run(retries(5, 0, 1), { maxRetries: 5, windowMs: 10_000 })).toHaveLength(1);
    expect(run(retries(5, 0, 3), { maxRetries: 5, windowMs: 10_000 })).toEqual([]);
  });

  it('fires when one intent reaches attempt 6, with that attempt as evidence, once per intent', () => {
    const events = [1, 2, 3, 4, 5, 6, 7, 8].map((a) => actionRequested({ at: a * 3, attempt: a, intentId: 'i-loop', traceId: 'tt' }));
    const f = run(events);
    expect(f).toHaveLength(1);
    expect(f[0]).toMatchObject({
      kind: 'retry_spike',
      scope: { type: 'agent', id: 'travel-assistant' },
      eventIds: [events[5]!.eventId],
      detectedAt: at(18),
      traceIds: ['tt'],
      metrics: { observed: 6, threshold: 6 },
    });
    expect(f[0]!.summary).toBe('agent travel-assistant: intent i-loop of user u_1 reached attempt 6 (limit 6); the agent is retrying one action over and over');
  });

  it('stays silent at attempt 5', () => {
    expect(run([2, 3, 4, 5].map((a) => actionRequested({ at: a, attempt: a })))).toEqual([]);
  });

  it('gives the same findings, ids included, whatever the arrival order within the lateness and with redeliveries', () => {
    const loop = [2, 3, 4, 5, 6, 7].map((a) => actionRequested({ at: 100 + a, attempt: a, intentId: 'i-loop' }));
    const events = [...retries(45, 0, 0.7), ...loop, ...retries(35, 300, 1.5)];
    const f = expectOrderIndependent([retrySpike], events);
    expect(f.map((x) => x.metrics?.observed)).toEqual([30, 6, 30]);
  });

  it('keeps its slice small under a long storm', () => {
    const storm = Array.from({ length: 3000 }, (_, k) => actionRequested({ at: k / 10, attempt: 2 + (k % 3), intentId: `i-${k}` }));
    const { slices } = runDetectors([retrySpike], storm, { settleAtEnd: false });
    const size = JSON.stringify([...slices.get('retry_spike')!.values()]).length;
    expect(size).toBeLessThan(20_000);
  });

  it('gives the same intent findings when partitions arrive far apart in event time (a backlog)', () => {
    const attempt = (s: number, n: number, userId: string, intentId: string) => actionRequested({ at: s, attempt: n, userId, intentId });
    // An intent's two episodes (attempts 6 at 0 and 7 at 5 min, more than a window apart) while
    // partition 1 holds the watermark back: two findings, as in event-time order.
    let r = liveAndTimeOrder([retrySpike], [[1, attempt(1, 2, 'u_b', 'i-b0')], [0, attempt(0, 6, 'u_a', 'i-1')], [0, attempt(300, 7, 'u_a', 'i-1')]]);
    expect(r.ordered).toHaveLength(2);
    expect(r.live.map((f) => f.findingId).sort()).toEqual(r.ordered.map((f) => f.findingId).sort());
    // Partition 0 two hours ahead must not make partition 1's attempt at 30 min too old to count.
    r = liveAndTimeOrder([retrySpike], [
      [1, attempt(10, 2, 'u_b', 'i-b0')],
      [0, attempt(0, 6, 'u_a', 'i-1')],
      [0, attempt(20, 2, 'u_a', 'i-2')],
      [0, attempt(7200, 2, 'u_a', 'i-3')],
      [1, attempt(1800, 6, 'u_b', 'i-b1')],
    ]);
    expect(r.ordered).toHaveLength(2);
    expect(r.live.map((f) => f.findingId).sort()).toEqual(r.ordered.map((f) => f.findingId).sort());
  });
});
