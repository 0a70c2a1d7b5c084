import fc from 'fast-check';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { connectRedis, type RedisClient } from '../../src/redis/connection.ts';
import { TEST_REDIS_URL } from './helpers.ts';
import { opsArbitrary } from './ops.ts';
import { runOps } from './run-ops.ts';

describe('breaker Lua scripts vs reference model (single Redis)', () => {
  let redis: RedisClient;
  beforeAll(() => {
    redis = connectRedis({ url: TEST_REDIS_URL, connectionName: 'test-breakers-prop' });
  });
  afterAll(async () => {
    await redis.quit();
  });

  it('agree on every result and stored hash for random operation sequences', async () => {
    await fc.assert(
      fc.asyncProperty(opsArbitrary(40), fc.integer({ min: 1_600_000_000_000, max: 1_900_000_000_000 }), (ops, start) => runOps(redis, ops, start)),
      { numRuns: 150 },
    );
  });
});
