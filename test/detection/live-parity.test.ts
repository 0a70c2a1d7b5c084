import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ValidEvent } from '../../processors/core/events.ts';
import type { Finding } from '../../processors/core/finding.ts';
import { validateEvent } from '../../processors/core/validate-event.ts';
import { ReplayEngine } from '../../processors/engine/replay-engine.ts';
import { ALL_DETECTORS } from '../../processors/registry.ts';
import { generateEvents } from '../../bench/gen-events.ts';
import { createDetectionHandler } from '../../src/detection/detection-handler.ts';
import { defaultPolicy } from '../../src/policy/load-policy.ts';
import { connectRedis, type RedisClient } from '../../src/redis/connection.ts';
import { KeyBuilder } from '../../src/redis/keys.ts';
import { randomName } from '../helpers/wait.ts';
import { batchCtx, chunks, MemorySink } from './fixtures/live-helpers.ts';

let redis: RedisClient;
const prefix = randomName('vigil-test-parity');

beforeAll(() => {
  redis = connectRedis({ url: 'redis://127.0.0.1:6379', connectionName: 'vigil-live-parity-test' });
});
afterAll(async () => {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}-*`, 'COUNT', 1000);
    if (keys.length) await redis.del(...keys);
    cursor = next;
  } while (cursor !== '0');
  redis.disconnect();
});

describe('live engine with every real detector', () => {
  it.each([11, 12])('finds what vigil replay finds on the same traffic (seed %i), ids included, with state round-tripped through Redis as JSON', async (seed) => {
    // dense synthetic traffic with anomalies of every kind; deduped as ingest would
    const seen = new Set<string>();
    const events: ValidEvent[] = [];
    for (const line of generateEvents({ events: 8_000, seed, hours: 4 })) {
      const e = validateEvent(JSON.parse(line));
      if (!seen.has(e.eventId)) {
        seen.add(e.eventId);
        events.push(e);
      }
    }
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
});
