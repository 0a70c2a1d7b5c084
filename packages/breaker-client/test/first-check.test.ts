import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBreakerClient } from '../src/index.ts';
import { startRedisServer, type RedisServerHandle } from '../../../test/helpers/redis-server.ts';
import { stackEndpoints } from '../../../test/helpers/stack-env.ts';
import { randomName } from '../../../test/helpers/wait.ts';

/**
 * A client made on the spot and asked at once (what a script or a freshly started service does, and
 * what the README example does) must wait for its connection, within timeoutMs, instead of answering
 * by the fail mode because the connection is still being made.
 */
describe('the first check of a new client', () => {
  let redis: Redis;
  const prefix = randomName('t-first');
  beforeAll(async () => {
    redis = new Redis(stackEndpoints().redisUrl);
    await redis.hset(`${prefix}:brk:{vendor:acme-air}:state`, {
      v: '1', scope: 'vendor', id: 'acme-air', state: 'forced_open', since: String(Date.now() - 1000), until: String(Date.now() + 600_000), actor: 'alice', note: 'incident',
    });
  });
  afterAll(async () => {
    await redis.del(`${prefix}:brk:{vendor:acme-air}:state`);
    redis.disconnect();
  });

  it('reads Redis, not the fail mode, without ready() first', async () => {
    for (const failMode of ['open', 'closed'] as const) {
      const client = createBreakerClient({ redisUrl: stackEndpoints().redisUrl, keyPrefix: prefix, failMode: { default: failMode }, timeoutMs: 2000 });
      try {
        const a = await client.check({ vendor: 'acme-air', user: 'u1' });
        expect(a, failMode).toMatchObject({ allowed: false, state: 'forced_open', blockingScope: { scope: 'vendor', id: 'acme-air' } });
        expect(a.degraded).toBeUndefined();
      } finally {
        await client.close();
      }
    }
  });

  it('still answers by the fail mode within timeoutMs when Redis cannot be reached at all', async () => {
    const rs: RedisServerHandle = await startRedisServer();
    await rs.stop();
    const client = createBreakerClient({ redisUrl: rs.url, failMode: { default: 'closed' }, timeoutMs: 300 });
    try {
      const t0 = Date.now();
      expect(await client.check({ vendor: 'acme-air' })).toMatchObject({ allowed: false, state: 'unknown', degraded: 'redis_unreachable' });
      expect(Date.now() - t0).toBeLessThan(5000);
    } finally {
      await client.close();
    }
  });
});
