import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ValidEvent } from '../../processors/core/events.ts';
import type { Finding } from '../../processors/core/finding.ts';
import { ReplayEngine } from '../../processors/engine/replay-engine.ts';
import { ALL_DETECTORS } from '../../processors/registry.ts';
import { distinctEvents } from '../../bench/gen-events.ts';
import { createDetectionHandler } from '../../src/detection/detection-handler.ts';
import { defaultPolicy } from '../../src/policy/load-policy.ts';
import { connectRedis, type RedisClient } from '../../src/redis/connection.ts';
import { KeyBuilder } from '../../src/redis/keys.ts';
import { randomName } from '../helpers/wait.ts';
import { batchCtx, chunks, MemorySink } from './fixtures/live-helpers.ts';
import { deleteKeys } from '../helpers/redis-server.ts';

let redis: RedisClient;
const prefix = randomName('vigil-test-parity');

beforeAll(() => {
  redis = connectRedis({ url: 'redis://127.0.0.1:6379', connectionName: 'vigil-live-parity-test' });
});
afterAll(async () => {
  await deleteKeys(redis, `${prefix}-*`);
  redis.disconnect();
});

describe('live engine with every real detector', () => {
  it.each([11, 12])('finds what vigil replay finds on the same traffic (seed %i), ids included, with state round-tripped through Redis as JSON', async (seed) => {
    // dense synthetic traffic with anomalies of every kind; deduped as ingest would
    const events = distinctEvents({ events: 8_000, seed, hours: 4 });
    const policy = defaultPolicy({ detectors: ALL_DETECTORS });
    // the pure engine, stopped where the live watermark stops (no end-of-file settle)
    const pure: Finding[] = [];
    const engine = new ReplayEngine({ detectors: ALL_DETECTORS, rules: policy.rules, onFinding: (f) => pure.push(f) });
    for (const e of events) engine.push(e);

    const sink = new MemorySink();
    const keys = new KeyBuilder(`${prefix}-${seed}`);
    for (const batch of chunks(events, 150)) {
      const handler = createDetectionHandler({ redis, keys, policy, detectors: ALL_DETECTORS, sink });
      await handler.handle(batch, batchCtx(0));
    }
    const byId = (fs: Finding[]) => [...new Map(fs.map((f) => [f.findingId, f])).values()].sort((a, b) => a.findingId.localeCompare(b.findingId));
    expect(pure.length).toBeGreaterThan(5);
    // a readable diff first (kind, time, evidence), then the whole findings
    const brief = (fs: Finding[]) => byId(fs).map((f) => `${f.kind} ${f.detectedAt} ${f.eventIds.join(',')}`);
    expect(brief(sink.sorted())).toEqual(brief(pure));
    expect(byId(sink.sorted())).toEqual(byId(pure));
  });

  /** Traffic split by user over three partitions (as Kafka keys it), consumed at uneven pace. */
  async function unevenPartitions() {
    const events = distinctEvents({ events: 8_000, seed: 13, hours: 4 });
    const policy = defaultPolicy({ detectors: ALL_DETECTORS });
    const pure: Finding[] = [];
    const engine = new ReplayEngine({ detectors: ALL_DETECTORS, rules: policy.rules, onFinding: (f) => pure.push(f) });
    for (const e of events) engine.push(e);

    const parts: ValidEvent[][] = [[], [], []];
    for (const e of events) parts[[...e.userId].reduce((h, c) => h * 31 + c.charCodeAt(0), 7) % 3]!.push(e);
    const sink = new MemorySink();
    const keys = new KeyBuilder(`${prefix}-parts-${Math.random().toString(36).slice(2)}`);
    const handler = createDetectionHandler({ redis, keys, policy, detectors: ALL_DETECTORS, sink, expectedPartitions: 3 });
    // partition 0 runs in big batches (ahead), 1 and 2 in small ones (behind)
    const queues = parts.map((p, i) => chunks(p, i === 0 ? 400 : 60));
    while (queues.some((q) => q.length > 0)) {
      for (let p = 0; p < 3; p++) {
        const batch = queues[p]!.shift();
        if (batch) await handler.handle(batch, batchCtx(p));
      }
    }
    return { pure, live: sink.sorted(), end: events.at(-1)!.ts };
  }

  it('split by user over partitions consumed at uneven pace, raises nothing the pure engine does not', async () => {
    const { pure, live } = await unevenPartitions();
    const pureIds = new Set(pure.map((f) => f.findingId));
    expect(live.length).toBeGreaterThan(5);
    expect(live.filter((f) => !pureIds.has(f.findingId))).toEqual([]);
  });

  it('split by user over partitions consumed at uneven pace, misses nothing the pure engine settles', async () => {
    const { pure, live, end } = await unevenPartitions();
    const liveIds = new Set(live.map((f) => f.findingId));
    expect(pure.filter((f) => Date.parse(f.detectedAt) < end - 30 * 60_000 && !liveIds.has(f.findingId))).toEqual([]);
  });
});
