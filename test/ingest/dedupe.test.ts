import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Cluster } from 'ioredis';
import { EventDedupe } from '../../src/ingest/dedupe.ts';
import { connectRedis, type RedisClient } from '../../src/redis/connection.ts';
import { KeyBuilder, SEEN_BUCKETS, seenBucketOf } from '../../src/redis/keys.ts';
import { loadScripts, runScript } from '../../src/redis/scripts.ts';
import { startRedisCluster, type RedisClusterHandle } from '../helpers/redis-cluster.ts';
import { stackEndpoints } from '../helpers/stack-env.ts';
import { randomName } from '../helpers/wait.ts';

const ids = (n: number, tag = 'e') => Array.from({ length: n }, (_, i) => `${tag}-${i}-${(i * 2654435761) >>> 0}`);

/** Every key under a pattern, on every master of a Cluster or on the single node. */
async function keysOf(redis: RedisClient, pattern: string): Promise<string[][]> {
  const nodes = 'nodes' in redis && typeof (redis as Cluster).nodes === 'function' && (redis as Cluster).isCluster ? (redis as Cluster).nodes('master') : [redis];
  return Promise.all(nodes.map((n) => n.keys(pattern)));
}

function dedupeSuite(name: string, connect: () => Promise<{ redis: RedisClient; done: () => Promise<void> }>) {
  describe(`ingest dedupe (${name})`, () => {
    let redis: RedisClient;
    let done: () => Promise<void>;
    beforeAll(async () => {
      ({ redis, done } = await connect());
    });
    afterAll(async () => {
      await done?.();
    });

    it('hands on each id once: not the marked ones, nor a second copy in the same list', async () => {
      const keys = new KeyBuilder(randomName('dedupe'));
      const dedupe = new EventDedupe(redis, keys, 600);
      const batch1 = ids(500);
      expect((await dedupe.fresh(batch1)).every(Boolean)).toBe(true);
      await dedupe.markSeen(batch1);
      const batch2 = [...ids(10, 'new'), batch1[3]!, ids(10, 'new')[0]!, batch1[499]!, 'last'];
      expect(await dedupe.fresh(batch2)).toEqual([...Array(10).fill(true), false, false, false, true]);
      expect(await dedupe.unseen(batch2)).toEqual(new Set([...ids(10, 'new'), 'last']));
      expect(await dedupe.fresh([])).toEqual([]);
      await dedupe.markSeen([]);
    });

    it('marks what a check found fresh, from the keys the check built', async () => {
      const keys = new KeyBuilder(randomName('dedupe'));
      const dedupe = new EventDedupe(redis, keys, 600);
      const old = ids(50, 'old');
      await dedupe.markSeen(old);
      const batch = [...ids(300), old[0]!, ids(300)[5]!, old[49]!];
      const check = await dedupe.check(batch);
      expect(check.fresh.filter(Boolean).length).toBe(300);
      expect(check.markers.flat().sort()).toEqual(ids(300).map((id) => keys.seenEvent(id)).sort());
      await dedupe.markChecked(check);
      expect((await dedupe.fresh(batch)).some(Boolean)).toBe(false);
      expect((await keysOf(redis, `${keys.prefix}:seen:*`)).flat().length).toBe(350);
      await dedupe.markChecked(await dedupe.check([])); // nothing to mark
    });

    it('checks and marks a batch in one command each on a single node, one per bucket on Cluster (a slot each)', async () => {
      const keys = new KeyBuilder(randomName('dedupe'));
      const dedupe = new EventDedupe(redis, keys, 600);
      const batch = ids(90); // a batch at a steady load: it touches most buckets
      const buckets = new Set(batch.map((id) => seenBucketOf(id))).size;
      expect(buckets).toBeGreaterThan(20);
      const mget = vi.spyOn(redis, 'mget');
      try {
        const check = await dedupe.check(batch);
        const perCommand = name.includes('Cluster') ? buckets : 1;
        expect(mget).toHaveBeenCalledTimes(perCommand);
        expect(check.markers.length).toBe(perCommand); // markChecked: one markSeen call per group
        await dedupe.markChecked(check);
        expect((await dedupe.fresh(batch)).some(Boolean)).toBe(false);
        expect((await keysOf(redis, `${keys.prefix}:seen:*`)).flat().sort()).toEqual(batch.map((id) => keys.seenEvent(id)).sort());
      } finally {
        mget.mockRestore();
      }
    });

    it('keeps one marker key per id, with the dedupe TTL, spread over the buckets', async () => {
      const keys = new KeyBuilder(randomName('dedupe'));
      const dedupe = new EventDedupe(redis, keys, 600);
      const batch = ids(2000);
      await dedupe.markSeen(new Set(batch)); // any iterable
      const perNode = await keysOf(redis, `${keys.prefix}:seen:*`);
      if (name.includes('Cluster')) expect(perNode.filter((ks) => ks.length > 0).length).toBe(3); // the buckets spread over the masters
      const stored = perNode.flat();
      expect(stored.sort()).toEqual(batch.map((id) => keys.seenEvent(id)).sort());
      const ttl = await redis.ttl(keys.seenEvent(batch[7]!));
      expect(ttl).toBeGreaterThan(590);
      expect(ttl).toBeLessThanOrEqual(600);
      expect(new Set(batch.map((id) => seenBucketOf(id))).size).toBe(SEEN_BUCKETS);
      // Forgetting the markers makes every id fresh again.
      await Promise.all(stored.map((k) => redis.del(k)));
      expect((await dedupe.fresh(batch)).every(Boolean)).toBe(true);
    });
  });
}

dedupeSuite('single node', async () => {
  const redis = connectRedis({ url: stackEndpoints().redisUrl, connectionName: 'vigil-dedupe-test' });
  return { redis, done: async () => redis.disconnect() };
});

let cluster: RedisClusterHandle | undefined;
dedupeSuite('three-master Redis Cluster', async () => {
  cluster = await startRedisCluster();
  const redis = connectRedis({ url: cluster.url, cluster: true, connectionName: 'vigil-dedupe-cluster-test' });
  return {
    redis,
    done: async () => {
      redis.disconnect();
      await cluster?.stop();
    },
  };
});

describe('seen-marker layout', () => {
  it('puts an id in a bucket hash tag, so a bucket is one Cluster slot whatever the eventId holds', () => {
    const keys = new KeyBuilder('vigil');
    expect(keys.seenEvent('abc')).toBe(`vigil:seen:{seen:${seenBucketOf('abc')}}:abc`);
    expect(keys.seenEvent('odd}{id')).toBe(`vigil:seen:{seen:${seenBucketOf('odd}{id')}}:odd}{id`);
    // FNV-1a: fixed forever (a change would forget every marker); these values are part of the layout.
    expect([seenBucketOf(''), seenBucketOf('e1'), seenBucketOf('0f8c0bd2-6a3e-4f69-9d1c-9f5e0c1d2a77')]).toEqual([5, 3, 11]);
  });

  it('markSeen-n.lua is registered with a varying key count, and runScript passes it', async () => {
    expect(loadScripts().find((s) => s.name === 'markSeen')).toMatchObject({ command: 'vigil_markSeen_v2', numberOfKeys: null });
    const redis = connectRedis({ url: stackEndpoints().redisUrl, connectionName: 'vigil-dedupe-test' });
    try {
      const keys = new KeyBuilder(randomName('dedupe'));
      const bucket = seenBucketOf('a');
      const markers = ['a', 'b', 'c'].map((id) => keys.seenEvent(id, bucket));
      expect(await runScript(redis, 'markSeen', markers, [120])).toBe(3);
      expect(await redis.mget(markers)).toEqual(['1', '1', '1']);
      expect(await redis.ttl(markers[2]!)).toBeGreaterThan(100);
    } finally {
      redis.disconnect();
    }
  });
});
