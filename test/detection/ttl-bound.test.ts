import { joinState } from '../../src/detection/slice-parts.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALL_DETECTORS } from '../../processors/registry.ts';
import { createDetectionHandler } from '../../src/detection/detection-handler.ts';
import { ttlOf } from '../../src/detection/detection-pass.ts';
import { defaultPolicy } from '../../src/policy/load-policy.ts';
import { connectRedis, type RedisClient } from '../../src/redis/connection.ts';
import { DETECTOR_STATE_BUCKETS, KeyBuilder } from '../../src/redis/keys.ts';
import { randomName } from '../helpers/wait.ts';
import { MemorySink } from './fixtures/live-helpers.ts';
import { partitionOf, traffic } from './fixtures/partitioned-traffic.ts';
import { deleteKeys } from '../helpers/redis-server.ts';

let redis: RedisClient;
const prefix = randomName('vigil-test-ttl-bound');
const keys = new KeyBuilder(prefix);
const policy = defaultPolicy({ detectors: ALL_DETECTORS });
const DAY = 86_400_000;
const MAX_TTL = 30 * DAY; // the handler's default maxTtlMs

beforeAll(() => {
  redis = connectRedis({ url: 'redis://127.0.0.1:6379', connectionName: 'vigil-ttl-bound-test' });
});
afterAll(async () => {
  await deleteKeys(redis, `${prefix}:*`);
  redis.disconnect();
});

/** Every slice key of the run with its TTL left (ms) and its kind. */
async function slices(): Promise<{ key: string; kind: string; pttl: number }[]> {
  const out: string[] = [];
  let cursor = '0';
  do {
    const [next, found] = await redis.scan(cursor, 'MATCH', `${prefix}:ds:{ds:*}:*`, 'COUNT', 1000);
    out.push(...found.filter((k) => /\{ds:\d+\}:[a-z_]+:/.test(k)));
    cursor = next;
  } while (cursor !== '0');
  const pipe = redis.pipeline();
  for (const k of out) pipe.pttl(k);
  const ttls = (await pipe.exec())!.map(([, v]) => v as number);
  return out.map((key, i) => ({ key, kind: /\}:([a-z_]+):/.exec(key)![1]!, pttl: ttls[i]! }));
}

/** The slice keys filed in the TTL-pending sets. */
async function pending(): Promise<Set<string>> {
  const pipe = redis.pipeline();
  for (let b = 0; b < DETECTOR_STATE_BUCKETS; b++) pipe.zrange(keys.detectorTtlPending(b), '0', '-1');
  const out = new Set<string>();
  (await pipe.exec())!.forEach(([, members], b) => {
    for (const m of members as string[]) out.add(keys.detectorSlice(b, m.slice(0, m.indexOf(':')), m.slice(m.indexOf(':') + 1)));
  });
  return out;
}

/**
 * Found by the memory bench: slices saved before the watermark is known (a new stream whose partitions
 * have not all been heard from) took the longest TTL, 30 days, and those no later event touches stayed
 * in Redis that long (about 10 % of the slices of a short run, every kind). They are now filed in their
 * bucket's TTL-pending set and a tick lowers their TTL once the watermark is known.
 */
describe('slices saved before the watermark is known', () => {
  it('get the longest TTL first, and a bounded one from the first tick that knows the watermark', async () => {
    const h = createDetectionHandler({ redis, keys, policy, detectors: ALL_DETECTORS, sink: new MemorySink(), expectedPartitions: 2, idlePartitionMs: 600_000 });
    const events = traffic(3_000, 41, 1);
    const first = events.filter((e) => partitionOf(e, 2) === 0);
    const second = events.filter((e) => partitionOf(e, 2) === 1);
    // partition 1 is silent and not idle yet: partition 0's passes run without a watermark
    for (let i = 0; i < first.length; i += 300) await h.handle(first.slice(i, i + 300), { topic: 'agent.actions', partition: 0, lastOffset: String(i) });
    // (only the shared slices, agent and vendor, are saved per slice key; the user and intent ones stay
    // resident with their partition, in its hash, deleted by its owner as they expire)
    const before = await slices();
    expect(before.length).toBeGreaterThan(5);
    const longest = before.filter((s) => s.pttl > MAX_TTL - DAY);
    expect(longest.length).toBe(before.length);
    // filed to be bounded later: every slice that expires by event time (some never do, by their detector)
    expect((await pending()).size).toBeGreaterThan(before.length / 2);
    // a set that no tick empties does not outlive its slices
    const setTtls = await Promise.all(Array.from({ length: DETECTOR_STATE_BUCKETS }, (_, b) => redis.pttl(keys.detectorTtlPending(b))));
    for (const t of setTtls) expect(t === -2 || (t > MAX_TTL - DAY && t <= MAX_TTL)).toBe(true);

    // a tick with no watermark yet bounds nothing
    await h.tick();
    expect(h.stats.ttlsBounded).toBe(0);

    // partition 1 speaks: the watermark is known, and the next tick bounds the TTLs
    for (let i = 0; i < second.length; i += 300) await h.handle(second.slice(i, i + 300), { topic: 'agent.actions', partition: 1, lastOffset: String(i) });
    const filed = await pending();
    const gone = [...filed][0]!;
    await redis.del(gone); // a slice deleted meanwhile: its member is removed all the same
    const [status] = await h.tick();
    expect(status!.watermark).toBeGreaterThan(-Infinity);
    expect(h.stats.ttlsBounded).toBe(filed.size);
    expect((await pending()).size).toBe(0);

    const after = await slices();
    expect(after.find((s) => s.key === gone)).toBeUndefined();
    // an hour of traffic: no window holds a slice for more than a day and a bit
    const tooLong = after.filter((s) => s.pttl > 2 * DAY);
    expect(tooLong.map((s) => `${s.key} ${s.pttl}`)).toEqual([]);
    // each TTL bounded is at most what a pass with the tick's watermark would have given (less when a
    // pass saved the slice since: PEXPIRE … LT never raises a TTL)
    const bounded = after.filter((s) => filed.has(s.key));
    // (the tick's settle pass deleted those whose decision was due)
    expect(bounded.length).toBeGreaterThan(filed.size / 2);
    const pipe = redis.pipeline();
    for (const s of bounded) pipe.hgetall(s.key);
    // windowed kinds keep their buckets in parts beside the head (slice-parts.ts)
    const states = (await pipe.exec())!.map(([, v]) => joinState((v as Record<string, string>).s!, v as Record<string, string>).state);
    bounded.forEach((s, i) => {
      const d = ALL_DETECTORS.find((x) => x.kind === s.kind)!;
      const want = ttlOf(d.expiresAt(states[i]), status!.watermark, policy.rules.latenessMs, MAX_TTL);
      expect(s.pttl, s.key).toBeLessThanOrEqual(want + 1000);
    });

    // nothing left to bound: a later tick reads nothing more
    const count = h.stats.ttlsBounded;
    await h.tick();
    expect(h.stats.ttlsBounded).toBe(count);
  }, 60_000);
});
