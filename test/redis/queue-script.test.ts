import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectRedis, type RedisClient } from '../../src/redis/connection.ts';
import { queueScript } from '../../src/redis/scripts.ts';
import { cleanup, TEST_REDIS_URL, uniqueKeys } from '../breakers/helpers.ts';

/** queueScript: a registered script in a pipeline or MULTI, by its short name, as runScript runs it on a client. */
describe('queueScript', () => {
  let redis: RedisClient;
  const keys = uniqueKeys('queue-script');
  beforeAll(() => {
    redis = connectRedis({ url: TEST_REDIS_URL, connectionName: 'test-queue-script' });
  });
  afterAll(async () => {
    await cleanup(redis, keys);
    await redis.quit();
  });

  it('runs a fixed-keys script and a -n script (its key count given first) in one pipeline, and a script in a MULTI', async () => {
    const lease = `${keys.prefix}:lease`;
    const seen = [keys.seenEvent('e1', 7), keys.seenEvent('e2', 7)];
    const pipe = (redis as Redis).pipeline();
    queueScript(pipe, 'acquireLease', [lease], ['me', 60_000]);
    queueScript(pipe, 'markSeen', seen, [600]);
    expect((await pipe.exec())!.map(([err, v]) => err ?? v)).toEqual([2, 2]);
    expect(await redis.mget(...seen)).toEqual(['1', '1']);
    const tx = queueScript((redis as Redis).multi().set(`${keys.prefix}:other`, 'x'), 'acquireLease', [lease], ['me', 60_000]);
    expect((await tx.exec())!.map(([err, v]) => err ?? v)).toEqual(['OK', 1]);
  });

  it('refuses a name that is not one of the scripts, naming it', () => {
    expect(() => queueScript((redis as Redis).pipeline(), 'tripBreakr', [], [])).toThrow('Lua script "tripBreakr" is not one of vigil\'s scripts');
  });
});
