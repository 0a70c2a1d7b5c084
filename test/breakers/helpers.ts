import { randomBytes } from 'node:crypto';
import { KeyBuilder } from '../../src/redis/keys.ts';
import type { RedisClient } from '../../src/redis/connection.ts';
import type { BreakerReason } from '../../src/breakers/state.ts';

/** The shared test Redis (127.0.0.1:6379 unless REDIS_URL says otherwise). */
export const TEST_REDIS_URL = 'redis://127.0.0.1:6379';

/** A key builder with a prefix no other test uses. */
export function uniqueKeys(tag: string): KeyBuilder {
  return new KeyBuilder(`t-brk-${tag}-${randomBytes(4).toString('hex')}`);
}

/** Deletes every key under the builder's prefix (on every master of a cluster). */
export async function cleanup(redis: RedisClient, keys: KeyBuilder): Promise<void> {
  const nodes = 'isCluster' in redis && redis.isCluster ? (redis as import('ioredis').Cluster).nodes('master') : [redis as import('ioredis').Redis];
  for (const node of nodes) {
    let cursor = '0';
    do {
      const [next, batch] = await node.scan(cursor, 'MATCH', `${keys.prefix}:*`, 'COUNT', 1000);
      for (const k of batch) await node.del(k);
      cursor = next;
    } while (cursor !== '0');
  }
}

export function sampleReason(findingId: string, over: Partial<BreakerReason> = {}): BreakerReason {
  return {
    ruleId: 'vendor_failure_rate', kind: 'vendor_failure_rate', policyVersion: 'p1',
    observed: 0.62, threshold: 0.5, findingIds: [findingId], traceIds: ['4bf92f3577b34da6a3ce929d0e0e4736'],
    summary: 'vendor v1 failed 62% of 21 calls in 60 s', ...over,
  };
}
