import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ValidEvent } from '../../processors/core/events.ts';
import { replayAll } from '../../processors/engine/replay-engine.ts';
import { createDetectionHandler } from '../../src/detection/detection-handler.ts';
import { SliceStore } from '../../src/detection/slice-store.ts';
import { connectRedis, type RedisClient } from '../../src/redis/connection.ts';
import { KeyBuilder } from '../../src/redis/keys.ts';
import { startRedisCluster, type RedisClusterHandle } from '../helpers/redis-cluster.ts';
import { batchCtx, chunks, MemorySink, tally } from './fixtures/live-helpers.ts';
import { ev, openPolicy, TEST_DETECTORS } from './fixtures/test-detectors.ts';


let cluster: RedisClusterHandle;
let redis: RedisClient;

beforeAll(async () => {
  cluster = await startRedisCluster();
  redis = connectRedis({ url: cluster.url, cluster: true, connectionName: 'vigil-detection-cluster-test' });
});
afterAll(async () => {
  redis?.disconnect();
  await cluster?.stop();
});

describe('live detection handler on a three-master Redis Cluster', () => {
  it('spreads slices over the masters and gives the pure engine findings', async () => {
    const events: ValidEvent[] = [];
    for (let i = 0; i < 120; i++) {
      const agentId = `agent-${i % 4}`;
      events.push(ev('action.requested', i * 10_000, { agentId, intentId: `i-${i}`, userId: `u_${i % 9}`, attempt: i % 3 === 0 ? 2 : 1 }));
      if (i % 5 !== 2) events.push(ev('action.succeeded', i * 10_000 + 1_000, { agentId, intentId: `i-${i}`, userId: `u_${i % 9}`, attempt: i % 3 === 0 ? 2 : 1 }));
    }
    const policy = openPolicy(TEST_DETECTORS);
    const lastTs = events.at(-1)!.ts;
    const expected = replayAll(TEST_DETECTORS, events, policy.rules)
      .filter((f) => f.kind !== 'orphaned_action' || Date.parse(f.detectedAt) + 300_000 <= lastTs - 5_000)
      .sort((a, b) => a.findingId.localeCompare(b.findingId));
    const keys = new KeyBuilder('vigil-cluster-det');
    const sink = new MemorySink();
    for (const batch of chunks(events, 13)) {
      await createDetectionHandler({ redis, keys, policy, detectors: TEST_DETECTORS, sink }).handle(batch, batchCtx());
    }
    expect(expected.length).toBeGreaterThan(5);
    expect(sink.sorted()).toEqual(expected);
    const perNode = await Promise.all((redis as import('ioredis').Cluster).nodes('master').map((n) => n.keys('vigil-cluster-det:ds:*')));
    expect(perNode.filter((ks) => ks.length > 0).length).toBeGreaterThan(1);
  });

  it('two handlers racing on one agent slice lose no update', async () => {
    const keys = new KeyBuilder('vigil-cluster-race');
    const policy = openPolicy([tally]);
    const sink = new MemorySink();
    const h1 = createDetectionHandler({ redis, keys, policy, detectors: [tally], sink });
    const h2 = createDetectionHandler({ redis, keys, policy, detectors: [tally], sink });
    const batches = chunks(Array.from({ length: 200 }, (_, i) => ev('intent.parsed', i, { agentId: 'racer', intentId: `i-${i}` })), 10);
    const run = async (h: typeof h1, partition: number) => {
      for (let i = partition; i < batches.length; i += 2) await h.handle(batches[i]!, batchCtx(partition));
    };
    await Promise.all([run(h1, 0), run(h2, 1)]);
    const key = new SliceStore(redis, keys).sliceKey({ kind: 'runaway_agent', key: 'agent:racer' });
    expect(JSON.parse((await redis.hget(key, 's'))!)).toEqual({ n: 200 });
  });
});
