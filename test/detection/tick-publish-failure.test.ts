import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Finding } from '../../processors/core/finding.ts';
import { ALL_DETECTORS } from '../../processors/registry.ts';
import { createDetectionHandler } from '../../src/detection/detection-handler.ts';
import { defaultPolicy } from '../../src/policy/load-policy.ts';
import { connectRedis, type RedisClient } from '../../src/redis/connection.ts';
import { KeyBuilder } from '../../src/redis/keys.ts';
import { randomName, waitFor } from '../helpers/wait.ts';
import { MemorySink } from './fixtures/live-helpers.ts';
import { brief, feed, replayOf, traffic } from './fixtures/partitioned-traffic.ts';

let redis: RedisClient;
const prefix = randomName('vigil-test-tick-pub');
const policy = defaultPolicy({ detectors: ALL_DETECTORS });

beforeAll(() => {
  redis = connectRedis({ url: 'redis://127.0.0.1:6379', connectionName: 'vigil-tick-publish-test' });
});
afterAll(async () => {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    if (keys.length) await redis.del(...keys);
    cursor = next;
  } while (cursor !== '0');
  redis.disconnect();
});

/** A sink that refuses every publish while `down` (Kafka or Redis unreachable), remembering what it refused. */
class DownSink extends MemorySink {
  down = false;
  refused: Finding[] = [];
  override async publish(findings: readonly Finding[]): Promise<void> {
    if (this.down) {
      this.refused.push(...findings);
      throw Object.assign(new Error('broker down'), { retriable: true });
    }
    return super.publish(findings);
  }
}

/**
 * Found by the chaos suite (test/chaos): decisions that a tick settles (the watermark moved on without a
 * batch: idle partitions, or another partition's progress) were saved to Redis before they were
 * published; when the publish failed (the broker or Redis down for a moment) the tick's error was logged
 * and the findings were gone, since nothing redelivers a tick. They must go out on a later tick.
 */
describe('findings settled by a tick while the sink is down', () => {
  it('are published by a later tick, none lost', async () => {
    const sink = new DownSink();
    const h = createDetectionHandler({ redis, keys: new KeyBuilder(prefix), policy, detectors: ALL_DETECTORS, sink, idlePartitionMs: 1500, expectedPartitions: 4 });
    const events = traffic(6_000, 31, 1);
    // the traffic lands on partitions 0–2; partition 3 never speaks, so the last decisions wait for ticks
    await feed(h, events, { partitions: 4, used: 3 });
    const want = replayOf(events, policy.rules);
    const byBatches = sink.byId.size;
    expect(want.findings.length).toBeGreaterThan(byBatches);

    sink.down = true;
    await waitFor(async () => {
      await h.tick().catch(() => undefined);
      return sink.refused.length > 0;
    }, { timeoutMs: 30_000, intervalMs: 250, description: 'a tick that settles findings while the sink is down' });
    sink.down = false;
    await waitFor(async () => {
      await h.tick();
      return sink.byId.size >= want.findings.length;
    }, { timeoutMs: 30_000, intervalMs: 250, description: `every finding published (${sink.byId.size} of ${want.findings.length}; ${sink.refused.length} refused while down)` });
    expect(brief(sink.sorted())).toEqual(brief(want.findings));
  }, 90_000);
});
