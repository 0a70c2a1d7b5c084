import { describe, expect, it } from 'vitest';
import { event } from '../../processors/testing/event-builders.ts';
import { countBatch } from './batch-counts.ts';
import { lagOf } from './consumer-lag.ts';
import { summarize, type BreakerReading } from './breaker-state-collector.ts';
import { parseTraceparent, traceIdContext } from './trace-context.ts';
import { isRedisFailure } from './pipeline-metrics.ts';

describe('countBatch (the stream side of the safety KPIs)', () => {
  it('counts first attempts as actions, state-changing successes as transactions and compensation successes as reversals', () => {
    const high = { riskTier: 'high' as const, stateChanging: true };
    const low = { riskTier: 'low' as const, stateChanging: false, name: 'flight.search' };
    const c = countBatch([
      event('intent.parsed'),
      event('action.requested', { attempt: 1, action: high, idempotencyKey: 'k1' }),
      event('action.requested', { attempt: 2, action: high, idempotencyKey: 'k1' }), // a retry: not a new action
      event('action.requested', { attempt: 1, action: low }),
      event('action.succeeded', { attempt: 2, action: high, idempotencyKey: 'k1', outcome: { status: 'ok' } }),
      event('action.succeeded', { attempt: 1, action: low, outcome: { status: 'ok' } }), // read-only: no transaction
      event('compensation.succeeded', { action: high, compensation: { forEventId: 'e-x', kind: 'refund' }, outcome: { status: 'ok' } }),
    ]);
    expect(c.byType['action.requested']).toBe(3);
    expect(c.byType['intent.parsed']).toBe(1);
    expect(c.byType['stepup.passed']).toBe(0);
    expect(c.actions.high).toEqual({ stateChanging: 1, readOnly: 0 });
    expect(c.actions.low).toEqual({ stateChanging: 0, readOnly: 1 });
    expect(c.transactions).toEqual({ low: 0, medium: 0, high: 1 });
    expect(c.reversals.refund).toBe(1);
    expect(c.reversals.cancel).toBe(0);
  });

  it('gives all-zero counts for an empty batch', () => {
    const c = countBatch([]);
    expect(Object.values(c.byType).every((n) => n === 0)).toBe(true);
    expect(c.transactions).toEqual({ low: 0, medium: 0, high: 0 });
  });
});

describe('lagOf', () => {
  it('is the end offset minus the committed one, from the first offset when the group never committed, never negative', () => {
    const ends = [
      { partition: 1, high: '100', low: '0' },
      { partition: 0, high: '50', low: '10' },
      { partition: 2, high: '7', low: '0' },
    ];
    const committed = [
      { partition: 1, offset: '60' },
      { partition: 0, offset: '-1' },
      { partition: 2, offset: '9' },
    ];
    expect(lagOf(ends, committed)).toEqual([
      { partition: 0, lag: 40 },
      { partition: 1, lag: 40 },
      { partition: 2, lag: 0 },
    ]);
  });
});

describe('breaker summary (bounded at a million users)', () => {
  it('counts by scope and state, gives per-id series to the top N vendors and agents only, and none to users', () => {
    const now = 1_000_000_000;
    const readings: BreakerReading[] = [];
    for (let i = 0; i < 100_000; i++) readings.push({ scope: 'user', id: `u_${i}`, state: i % 2 ? 'open' : 'closed', since: now - 60_000, trips: 1 });
    for (let i = 0; i < 50; i++) readings.push({ scope: 'vendor', id: `v${i}`, state: 'open', since: now - i * 1000, trips: i % 5 });
    readings.push({ scope: 'agent', id: 'a1', state: 'forced_open', since: now - 7_200_000, trips: 0 });
    const s = summarize(readings, now, 10);
    expect(s.counts.user.open).toBe(50_000);
    expect(s.counts.user.closed).toBe(50_000);
    expect(s.counts.vendor.open).toBe(50);
    expect(s.top.filter((b) => b.scope === 'user')).toEqual([]);
    const vendors = s.top.filter((b) => b.scope === 'vendor');
    expect(vendors).toHaveLength(10);
    expect(vendors.every((b) => b.trips === 4)).toBe(true); // the most-tripped first
    expect(s.omitted).toMatchObject({ user: 50_000, vendor: 40, agent: 0 });
    expect(s.maxTrips.vendor).toBe(4);
    expect(s.longestNotClosedSeconds.agent).toBe(7200);
    expect(s.longestNotClosedSeconds.user).toBe(60);
  });
});

describe('trace context', () => {
  it('parses a W3C traceparent header (string or bytes) and refuses malformed ones', () => {
    const tp = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    expect(parseTraceparent(tp)).toEqual({ traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7', traceFlags: 1, isRemote: true });
    expect(parseTraceparent(Buffer.from(tp))?.spanId).toBe('00f067aa0ba902b7');
    expect(parseTraceparent('00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00')?.traceFlags).toBe(0);
    for (const bad of ['', 'nonsense', '00-00000000000000000000000000000000-00f067aa0ba902b7-01', '00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01',
      'ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01', '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra', 42, undefined]) {
      expect(parseTraceparent(bad), String(bad)).toBeUndefined();
    }
  });

  it("places an event that has only a traceId in the agent's trace under a deterministic placeholder span id", () => {
    const a = traceIdContext('4BF92F3577B34DA6A3CE929D0E0E4736', 'e-1');
    expect(a?.traceId).toBe('4bf92f3577b34da6a3ce929d0e0e4736');
    expect(a?.spanId).toMatch(/^[0-9a-f]{16}$/);
    expect(traceIdContext('4bf92f3577b34da6a3ce929d0e0e4736', 'e-1')).toEqual(a);
    expect(traceIdContext('4bf92f3577b34da6a3ce929d0e0e4736', 'e-2')?.spanId).not.toBe(a?.spanId);
    expect(traceIdContext('not-a-trace-id', 'e-1')).toBeUndefined();
    expect(traceIdContext(undefined, 'e-1')).toBeUndefined();
  });
});

describe('isRedisFailure', () => {
  it('tells Redis failures from others', () => {
    const named = (name: string, message = 'x', extra: Record<string, unknown> = {}) => Object.assign(new Error(message), { name }, extra);
    expect(isRedisFailure(named('DetectionStoreError'))).toBe(true);
    expect(isRedisFailure(named('BreakerError', 'Redis failed', { code: 'redis_unreachable' }))).toBe(true);
    expect(isRedisFailure(new Error('Connection is closed.'))).toBe(true);
    expect(isRedisFailure(named('BreakerError', 'bad', { code: 'invalid_argument' }))).toBe(false);
    expect(isRedisFailure(named('KafkaJSError', 'broker down'))).toBe(false);
    expect(isRedisFailure(undefined)).toBe(false);
  });
});
