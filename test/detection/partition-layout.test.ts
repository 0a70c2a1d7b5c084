import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkPartitionLayout } from '../../src/detection/partition-layout.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { connectRedis, type RedisClient } from '../../src/redis/connection.ts';
import { KeyBuilder } from '../../src/redis/keys.ts';
import { deleteKeys } from '../helpers/redis-server.ts';
import { randomName } from '../helpers/wait.ts';

/**
 * Partitions added to a running input topic move users between partitions, and the user and intent
 * state resident with the old one does not follow them: each start compares the count with the last
 * start's and says so once, at error level, naming both counts.
 */
describe('input partition count', () => {
  let redis: RedisClient;
  const prefix = randomName('vigil-test-layout');
  beforeAll(() => {
    redis = connectRedis({ url: 'redis://127.0.0.1:6379', connectionName: 'vigil-layout-test' });
  });
  afterAll(async () => {
    await deleteKeys(redis, `${prefix}:*`);
    redis.disconnect();
  });

  it('is remembered from start to start; a change is logged once as an error with both counts', async () => {
    const lines: Record<string, unknown>[] = [];
    const log = createLogger({ level: 'info', write: (l: string) => void lines.push(JSON.parse(l) as Record<string, unknown>) });
    const keys = new KeyBuilder(prefix);
    expect(await checkPartitionLayout(redis, keys, 'agent.actions', 6, log)).toEqual({ before: undefined, now: 6 });
    expect(await checkPartitionLayout(redis, keys, 'agent.actions', 6, log)).toEqual({ before: 6, now: 6 });
    expect(lines).toEqual([]);
    expect(await checkPartitionLayout(redis, keys, 'agent.actions', 8, log)).toEqual({ before: 6, now: 8 });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: 'error', topic: 'agent.actions', partitionsBefore: 6, partitionsNow: 8 });
    expect(String(lines[0]!.msg)).toMatch(/partition count changed.*users have moved/);
    // said once: the next start sees the new count
    await checkPartitionLayout(redis, keys, 'agent.actions', 8, log);
    expect(lines).toHaveLength(1);
    // another topic is kept apart
    expect(await checkPartitionLayout(redis, keys, 'other.actions', 3, log)).toEqual({ before: undefined, now: 3 });
    expect(lines).toHaveLength(1);
  });
});
