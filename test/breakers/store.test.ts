import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectRedis, type RedisClient } from '../../src/redis/connection.ts';
import { runScript } from '../../src/redis/scripts.ts';
import { BreakerStore } from '../../src/breakers/breaker-store.ts';
import { applyFinding } from '../../src/breakers/apply-finding.ts';
import { parseBreakerPolicy } from '../../src/breakers/breaker-policy.ts';
import { isBreakerError } from '@vigil/breaker-client/protocol';
import type { BreakerTransition } from '@vigil/breaker-client/protocol';
import { isRetriable } from '../../src/errors/vigil-error.ts';
import { startRedisServer } from '../helpers/redis-server.ts';
import { cleanup, sampleReason, TEST_REDIS_URL, uniqueKeys } from './helpers.ts';

const settings = { baseMs: 600_000, capMs: 600_000, jitter: 0, trials: 1, trialTimeoutMs: 1000 };

describe('BreakerStore', () => {
  let redis: RedisClient;
  let sub: Redis;
  const keys = uniqueKeys('store');
  const published: BreakerTransition[] = [];
  const messages: BreakerTransition[] = [];
  let store: BreakerStore;
  beforeAll(async () => {
    redis = connectRedis({ url: TEST_REDIS_URL, connectionName: 'test-breakers-store' });
    store = new BreakerStore({ redis, keys, publishTransition: (t) => void published.push(t) });
    sub = new Redis(TEST_REDIS_URL);
    sub.on('message', (_c, m) => messages.push(JSON.parse(m)));
    await sub.subscribe(keys.breakerTransitionsChannel());
  });
  afterAll(async () => {
    await sub.quit();
    await cleanup(redis, keys);
    await redis.quit();
  });

  it('hands every transition to publishTransition and publishes the same on pub/sub, using Redis time', async () => {
    const before = Date.now();
    const r = await store.trip('vendor', 'v1', { findingId: 'f1', reason: sampleReason('f1'), settings });
    await store.force('vendor', 'v1', { mode: 'forced_closed', actor: 'alice', note: 'ok', ttlMs: 60_000 });
    const deadline = Date.now() + 3000;
    while (messages.length < 2 && Date.now() < deadline) await new Promise((res) => setTimeout(res, 10));
    expect(published.map((t) => t.cause)).toEqual(['trip', 'force_close']);
    expect(messages).toEqual(published);
    expect(r.transitions[0]!.at).toBeGreaterThanOrEqual(before - 1000);
    expect(r.transitions[0]!.until).toBe(r.transitions[0]!.at + 600_000);
  });

  it('applies a redelivered finding once (same transition id, no second trip)', async () => {
    const policy = parseBreakerPolicy(undefined, (p) => p);
    const finding = {
      findingId: 'f_redeliver', kind: 'retry_spike' as const, severity: 'critical' as const, scope: { type: 'agent' as const, id: 'a-re' },
      detectedAt: '2026-11-23T18:00:00.000Z', eventIds: ['e1'], ruleId: 'retry_spike', policyVersion: 'p-1', shadow: false, summary: '31 retries in 60 s',
      metrics: { observed: 31, threshold: 30 },
    };
    const first = await applyFinding(store, finding, policy);
    const second = await applyFinding(store, finding, policy);
    expect(first.results.map((r) => r.outcome)).toEqual(['tripped']);
    expect(second.results.map((r) => r.outcome)).toEqual(['duplicate']);
    // The redelivery hands on the original trip transition again (same id), without tripping.
    expect(second.results[0]!.transitions).toEqual(first.results[0]!.transitions);
    expect(published.filter((t) => t.findingId === 'f_redeliver')).toHaveLength(2);
    expect(messages.filter((t) => t.findingId === 'f_redeliver')).toHaveLength(1);
    expect(first.results[0]!.transitions[0]!.transitionId).toMatch(/^tr_[0-9a-f]{32}$/);
    expect(first.results[0]!.reason).toMatchObject({ ruleId: 'retry_spike', observed: 31, threshold: 30, findingIds: ['f_redeliver'] });
  });

  it('maps negative script codes to errors with context', async () => {
    await redis.hset(keys.breakerState('agent', 'future'), { v: '2', state: 'open' });
    const e1 = await store.takePermit('agent', 'future').catch((e) => e);
    expect(isBreakerError(e1) && e1.code).toBe('protocol_mismatch');
    expect(e1.message).toBe('takePermit on agent:future: the stored breaker hash has another protocol version');
    expect(isRetriable(e1)).toBe(false);
    const e3 = await store.reset('agent', 'nobody', 'alice', 'x').catch((e) => e);
    expect(e3.code).toBe('not_found');
    const raw = await runScript(redis, 'tripBreaker', [keys.breakerState('agent', 'x'), keys.breakerFindings('agent', 'x')], ['', 'c', 'agent', 'x', 'f', '{"a":1}', 'NaN?', '1', '0', '1', '1']);
    expect(raw).toBe(-2);
    const e2 = await store.force('agent', 'x', { mode: 'forced_open', actor: 'alice', note: 'n', ttlMs: 0 }).catch((e) => e);
    expect(e2.code).toBe('invalid_argument');
    const bad = await store.trip('agent', 'x', { findingId: 'f', reason: sampleReason('f'), settings: { ...settings, capMs: 1 } }).catch((e) => e);
    expect(bad.code).toBe('invalid_argument');
  });

  it('refuses bad scopes and ids before touching Redis', async () => {
    const e = await store.takePermit('tenant' as never, 't1').catch((x) => x);
    expect(e.code).toBe('invalid_argument');
    expect(e.message).toContain('scope must be one of');
    expect((await store.trip('user', 'has space', { findingId: 'f', reason: sampleReason('f'), settings }).catch((x) => x)).message).toContain('user id must be');
  });

  it('says Redis is unreachable, as a retriable error', async () => {
    const server = await startRedisServer();
    const r = connectRedis({ url: server.url, failFast: true });
    r.on('error', () => {});
    try {
      if (r.status !== 'ready') await new Promise((res) => r.once('ready', res));
      await server.stop();
      const e = await new BreakerStore({ redis: r, keys }).takePermit('vendor', 'v1').catch((x) => x);
      expect(e.code).toBe('redis_unreachable');
      expect(isRetriable(e)).toBe(true);
    } finally {
      r.disconnect();
      await server.stop();
    }
  });
});

describe('forwardTransitions', () => {
  it('hands on the transitions that upstream checks make, not the store\'s own', async () => {
    const { forwardTransitions } = await import('../../src/breakers/transition-forwarder.ts');
    const redis = connectRedis({ url: TEST_REDIS_URL });
    const keys = uniqueKeys('fwd');
    const forwarded: BreakerTransition[] = [];
    const fwd = await forwardTransitions({ redis, keys, publish: (t) => void forwarded.push(t) });
    try {
      const store = new BreakerStore({ redis, keys });
      await store.trip('vendor', 'v-fwd', { findingId: 'f', reason: sampleReason('f'), settings: { ...settings, baseMs: 30, capMs: 30 } });
      await new Promise((r) => setTimeout(r, 50));
      const permit = await store.takePermit('vendor', 'v-fwd');
      expect(permit.outcome).toBe('permit');
      await store.reportTrial('vendor', 'v-fwd', true);
      const deadline = Date.now() + 3000;
      while (forwarded.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      expect(forwarded.map((t) => t.cause)).toEqual(['cooldown_elapsed', 'trials_succeeded']);
    } finally {
      await fwd.close();
      await cleanup(redis, keys);
      await redis.quit();
    }
  });
});
