import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.ts';
import { startBreakerApi } from '../../src/http/start-breaker-api.ts';
import { connectRedis, type RedisClient } from '../../src/redis/connection.ts';
import { KeyBuilder } from '../../src/redis/keys.ts';
import { cleanup } from '../breakers/helpers.ts';
import { testEnv } from '../helpers/test-config.ts';

/**
 * The admin API's protections, on the real API and Redis: operator actions are rate-limited per client
 * address (a token bucket: VIGIL_ADMIN_BURST at once, then VIGIL_ADMIN_RATE_PER_MINUTE), with 429 and
 * Retry-After, before the token is checked (so token guessing is limited too); reads are not limited;
 * another address has its own bucket.
 */
const TOKEN = 'rate-admin-token-0a1b2c3d4e5f';
const config = loadConfig(testEnv({ VIGIL_ADMIN_TOKEN: TOKEN, VIGIL_ADMIN_RATE_PER_MINUTE: '6', VIGIL_ADMIN_BURST: '3' }));
let api: Awaited<ReturnType<typeof startBreakerApi>>;
let redis: RedisClient;

beforeAll(async () => {
  redis = connectRedis({ url: config.redis.url, connectionName: 'vigil-admin-api-test' });
  api = await startBreakerApi(config, { redis });
});
afterAll(async () => {
  await api?.close();
  await cleanup(redis, new KeyBuilder(config.redis.keyPrefix));
  redis.disconnect();
});

function call(method: string, path: string, opts: { token?: string; body?: unknown; from?: string } = {}): Promise<{ status: number; retryAfter: string | undefined; body: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const body = opts.body === undefined ? undefined : JSON.stringify(opts.body);
    const req = request(
      { host: '127.0.0.1', port: api.port, method, path, localAddress: opts.from ?? '127.0.0.1', headers: { ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}), 'content-type': 'application/json' } },
      (res) => {
        let t = '';
        res.on('data', (c) => (t += c)).on('end', () => resolve({ status: res.statusCode!, retryAfter: res.headers['retry-after'] as string | undefined, body: JSON.parse(t) }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const force = { actor: 'ops@example.com', reason: 'drill', ttlSeconds: 60 };

describe('admin API rate limit', () => {
  it('lets a burst of operator actions through, then answers 429 with Retry-After; wrong tokens count too', async () => {
    expect((await call('POST', '/v1/breakers/vendor/rl-1/force-open', { token: TOKEN, body: force })).status).toBe(200);
    expect((await call('POST', '/v1/breakers/vendor/rl-1/force-open', { token: 'not-the-token', body: force })).status).toBe(403);
    expect((await call('POST', '/v1/breakers/vendor/rl-1/reset', { token: TOKEN, body: { actor: 'ops', reason: 'drill' } })).status).toBe(200);
    const limited = await call('POST', '/v1/breakers/vendor/rl-1/force-close', { token: TOKEN, body: force });
    expect(limited.status).toBe(429);
    expect(Number(limited.retryAfter)).toBeGreaterThanOrEqual(1);
    expect(Number(limited.retryAfter)).toBeLessThanOrEqual(10);
    expect(limited.body.error).toMatch(/too many operator actions from this address: retry in \d+ s/);
    // the refused action did nothing: the breaker is as the reset left it
    expect((await call('GET', '/v1/breakers/vendor/rl-1')).body.state).toBe('closed');
  });

  it('does not limit reads, nor another address', async () => {
    for (let i = 0; i < 20; i++) expect((await call('GET', '/v1/breakers/vendor/rl-1')).status).toBe(200);
    expect((await call('POST', '/v1/breakers/vendor/rl-2/force-open', { token: TOKEN, body: force, from: '127.0.0.2' })).status).toBe(200);
  });
});
