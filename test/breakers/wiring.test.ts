import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.ts';
import { connectRedis, type RedisClient } from '../../src/redis/connection.ts';
import { startBreakerApi } from '../../src/http/start-breaker-api.ts';
import { describeOpenBreakers } from '../../src/breakers/summary.ts';
import type { BreakerTransition } from '@vigil/breaker-client/protocol';
import { cleanup, sampleReason, TEST_REDIS_URL, uniqueKeys } from './helpers.ts';

describe('startBreakerApi (from config) and describeOpenBreakers', () => {
  let redis: RedisClient;
  const keys = uniqueKeys('wiring');
  beforeAll(() => {
    redis = connectRedis({ url: TEST_REDIS_URL });
  });
  afterAll(async () => {
    await cleanup(redis, keys);
    await redis.quit();
  });

  it('serves the API on the configured port with the configured token, and describes open breakers', async () => {
    const config = loadConfig({ REDIS_URL: TEST_REDIS_URL, VIGIL_REDIS_PREFIX: keys.prefix, VIGIL_HTTP_PORT: '0', VIGIL_ADMIN_TOKEN: 'tok' });
    const published: BreakerTransition[] = [];
    const api = await startBreakerApi(config, { redis, publishTransition: (t) => void published.push(t) });
    try {
      await api.store.trip('vendor', 'acme-air', { findingId: 'f_w', reason: sampleReason('f_w'), settings: { baseMs: 600_000, capMs: 600_000, jitter: 0, trials: 1, trialTimeoutMs: 1000 } });
      const r = await fetch(`http://127.0.0.1:${api.port}/v1/breakers/agent/a1/force-open`, {
        method: 'POST', headers: { authorization: 'Bearer tok' }, body: JSON.stringify({ actor: 'alice', reason: 'incident 42', ttlSeconds: 60 }),
      });
      expect(r.status).toBe(200);
      expect(published.map((t) => t.cause)).toEqual(['trip', 'force_open']);
      const lines = await describeOpenBreakers(api.store);
      expect(lines).toHaveLength(2);
      expect(lines[0]).toMatch(/^agent a1: forced_open until \S+ by alice: incident 42$/);
      expect(lines[1]).toMatch(/^vendor acme-air: open until \S+ by vendor_failure_rate \(observed 0.62 vs threshold 0.5\): .* \[findings f_w\]$/);
    } finally {
      await api.close();
    }
  });
});
