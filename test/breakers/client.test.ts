import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectRedis, type RedisClient } from '../../src/redis/connection.ts';
import { BreakerStore } from '../../src/breakers/breaker-store.ts';
import { createBreakerClient, isBreakerError, type BreakerTransition } from '@vigil/breaker-client';
import { startRedisServer } from '../helpers/redis-server.ts';
import { cleanup, sampleReason, TEST_REDIS_URL, uniqueKeys } from './helpers.ts';

const quick = { baseMs: 60, capMs: 60, jitter: 0, trials: 1, trialTimeoutMs: 10_000 };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(f: () => T | undefined, what: string, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = f();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

describe('breaker client (@vigil/breaker-client)', () => {
  let redis: RedisClient;
  const keys = uniqueKeys('client');
  let store: BreakerStore;
  beforeAll(() => {
    redis = connectRedis({ url: TEST_REDIS_URL, connectionName: 'test-breakers-client' });
    store = new BreakerStore({ redis, keys });
  });
  afterAll(async () => {
    await cleanup(redis, keys);
    await redis.quit();
  });
  const q = { vendor: 'acme-air', agent: 'travel-assistant', user: 'u_4f2a', action: 'flight.book' };

  it('allows when every scope is closed, denies with the reason when one is open', async () => {
    const client = createBreakerClient({ redisUrl: TEST_REDIS_URL, keyPrefix: keys.prefix, failMode: { default: 'open' }, timeoutMs: 5000 });
    await client.ready();
    try {
      expect(await client.check(q)).toEqual({ allowed: true, blockingScope: null, state: 'closed', reason: null, detail: null, retryAfterMs: null, permits: [] });
      await store.trip('vendor', 'acme-air', { findingId: 'f_vendor_1', reason: sampleReason('f_vendor_1'), settings: { ...quick, baseMs: 600_000, capMs: 600_000 } });
      const a = await client.check(q);
      expect(a.allowed).toBe(false);
      expect(a.blockingScope).toEqual({ scope: 'vendor', id: 'acme-air' });
      expect(a.state).toBe('open');
      expect(a.reason).toContain('vendor_failure_rate');
      expect(a.reason).toContain('observed 0.62 vs threshold 0.5');
      expect(a.detail?.findingIds).toEqual(['f_vendor_1']);
      expect(a.retryAfterMs).toBeGreaterThan(500_000);
      expect(a.retryAfterMs).toBeLessThanOrEqual(600_000);
      // A scope the action does not touch is not consulted.
      expect((await client.check({ vendor: 'other-air', agent: 'travel-assistant' })).allowed).toBe(true);
    } finally {
      await client.close();
    }
  });

  it('prefers a forced_open scope as the most restrictive answer', async () => {
    const client = createBreakerClient({ redisUrl: TEST_REDIS_URL, keyPrefix: keys.prefix, failMode: { default: 'open' }, timeoutMs: 5000 });
    await client.ready();
    try {
      await store.force('user', 'u_4f2a', { mode: 'forced_open', actor: 'alice', note: 'fraud review', ttlMs: 60_000 });
      const a = await client.check(q);
      expect(a.blockingScope).toEqual({ scope: 'user', id: 'u_4f2a' });
      expect(a.state).toBe('forced_open');
      expect(a.reason).toBe('user u_4f2a forced open by alice: fraud review');
    } finally {
      await client.close();
    }
  });

  it('hands out half-open trial permits once, and a reported success closes the breaker', async () => {
    const client = createBreakerClient({ redisUrl: TEST_REDIS_URL, keyPrefix: keys.prefix, failMode: { default: 'open' }, timeoutMs: 5000 });
    await client.ready();
    const query = { vendor: 'trial-air', agent: 'a-trial' };
    try {
      await store.trip('vendor', 'trial-air', { findingId: 'f_trial', reason: sampleReason('f_trial'), settings: quick });
      expect((await client.check(query)).allowed).toBe(false);
      await sleep(80); // past the 60 ms cool-down
      const first = await client.check(query);
      expect(first).toMatchObject({ allowed: true, state: 'half_open', permits: [{ scope: 'vendor', id: 'trial-air' }] });
      const second = await client.check(query);
      expect(second).toMatchObject({ allowed: false, state: 'half_open', blockingScope: { scope: 'vendor', id: 'trial-air' } });
      await client.reportOutcome(first, true);
      expect((await store.get('vendor', 'trial-air'))?.status.kind).toBe('closed');
      expect(await client.check(query)).toMatchObject({ allowed: true, state: 'closed', permits: [] });
    } finally {
      await client.close();
    }
  });

  it('serves repeated checks from the cache and drops a breaker from it on its transition message', async () => {
    const seen: BreakerTransition[] = [];
    const client = createBreakerClient({
      redisUrl: TEST_REDIS_URL, keyPrefix: keys.prefix, failMode: { default: 'open' }, cache: true, cacheTtlMs: 600_000, timeoutMs: 5000,
      onTransition: (t) => seen.push(t),
    });
    await client.ready();
    const query = { vendor: 'cache-air', agent: 'a-cache', user: 'u-cache' };
    try {
      expect((await client.check(query)).allowed).toBe(true);
      const reads = client.stats.redisReads;
      for (let i = 0; i < 10; i++) expect((await client.check(query)).allowed).toBe(true);
      expect(client.stats.redisReads).toBe(reads);
      expect(client.stats.cacheHits).toBe(10);
      await store.trip('agent', 'a-cache', { findingId: 'f_cache', reason: sampleReason('f_cache', { ruleId: 'retry_spike' }), settings: { ...quick, baseMs: 600_000, capMs: 600_000 } });
      await until(() => seen.find((t) => t.scope === 'agent' && t.scopeId === 'a-cache'), 'the transition message');
      const a = await client.check(query);
      expect(a).toMatchObject({ allowed: false, blockingScope: { scope: 'agent', id: 'a-cache' }, state: 'open' });
      expect(client.stats.redisReads).toBe(reads + 1);
      expect(seen[0]).toMatchObject({ cause: 'trip', from: 'closed', to: 'open', findingId: 'f_cache' });
    } finally {
      await client.close();
    }
  });

  it('rejects bad input with an error naming it', async () => {
    expect(() => createBreakerClient({ failMode: { default: 'maybe' as never } })).toThrow(/failMode.default/);
    expect(() => createBreakerClient({ failMode: { default: 'open', perScope: { planet: 'open' } as never } })).toThrow(/failMode.perScope.planet/);
    const client = createBreakerClient({ redisUrl: TEST_REDIS_URL, keyPrefix: keys.prefix, failMode: { default: 'open' }, timeoutMs: 5000 });
    try {
      const err = await client.check({ vendor: 'acme air' }).catch((e) => e);
      expect(isBreakerError(err)).toBe(true);
      expect(err.code).toBe('invalid_argument');
      expect(err.message).toContain('vendor id must be');
      await expect(client.check({ user: 'x'.repeat(201) })).rejects.toThrow(/user id must be/);
      await expect(client.check({ agent: '{tag}' })).rejects.toThrow(/agent id must be/);
    } finally {
      await client.close();
    }
  });
});

describe('breaker client when Redis is unreachable', () => {
  it('answers by fail mode, per scope, and says so; recovers when Redis is back', async () => {
    const server = await startRedisServer();
    const open = createBreakerClient({ redisUrl: server.url, failMode: { default: 'open' }, timeoutMs: 200 });
    const closedVendor = createBreakerClient({ redisUrl: server.url, failMode: { default: 'open', perScope: { vendor: 'closed' } }, timeoutMs: 200, cache: true });
    try {
      await open.ready();
      await closedVendor.ready();
      const q = { vendor: 'acme-air', agent: 'travel-assistant', user: 'u1' };
      expect(await open.check(q)).toMatchObject({ allowed: true, state: 'closed' });
      expect((await open.check(q)).degraded).toBeUndefined();
      await server.stop();
      expect(await open.check(q)).toEqual({
        allowed: true, blockingScope: null, state: 'unknown', reason: null, detail: null, retryAfterMs: null, permits: [], degraded: 'redis_unreachable',
      });
      const denied = await closedVendor.check(q);
      expect(denied).toMatchObject({ allowed: false, blockingScope: { scope: 'vendor', id: 'acme-air' }, state: 'unknown', degraded: 'redis_unreachable' });
      expect(denied.reason).toContain('Redis unreachable');
      // A check that does not touch the fail-closed scope is allowed.
      expect(await closedVendor.check({ agent: 'travel-assistant' })).toMatchObject({ allowed: true, degraded: 'redis_unreachable' });
      expect(open.stats.degraded).toBe(1);
      await expect(open.reportOutcome([{ scope: 'vendor', id: 'acme-air' }], true)).rejects.toMatchObject({ code: 'redis_unreachable', retriable: true });
      await server.restart();
      const deadline = Date.now() + 10_000;
      let back = await open.check(q);
      while (back.degraded && Date.now() < deadline) {
        await sleep(100);
        back = await open.check(q);
      }
      expect(back).toMatchObject({ allowed: true, state: 'closed' });
      expect(back.degraded).toBeUndefined();
    } finally {
      await open.close();
      await closedVendor.close();
      await server.stop();
    }
  });
});
