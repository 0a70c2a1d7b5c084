import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ValidEvent } from '../../processors/core/events.ts';
import { replayAll } from '../../processors/engine/replay-engine.ts';
import { confirmationMismatch } from '../../processors/confirmation-mismatch/detector.ts';
import { runawayAgent } from '../../processors/runaway-agent/detector.ts';
import { createDetectionHandler } from '../../src/detection/detection-handler.ts';
import { DETECTOR_STATE_BUCKETS, SliceStore } from '../../src/detection/slice-store.ts';
import { DetectionStoreError } from '../../src/detection/detection-store-error.ts';
import { defaultPolicy, parsePolicy } from '../../src/policy/load-policy.ts';
import { connectRedis, type RedisClient } from '../../src/redis/connection.ts';
import { detectorBucketOf, KeyBuilder } from '../../src/redis/keys.ts';
import { isRetriable } from '../../src/errors/vigil-error.ts';
import { randomName } from '../helpers/wait.ts';
import { ev, OPEN_EVENT_TIME, openPolicy, TEST_DETECTORS } from './fixtures/test-detectors.ts';
import { batchCtx, chunks, MemorySink, offsetCtx, tally } from './fixtures/live-helpers.ts';
import { deleteKeys } from '../helpers/redis-server.ts';


let redis: RedisClient;
const prefixes: string[] = [];
const newKeys = () => {
  const p = randomName('vigil-test-det');
  prefixes.push(p);
  return new KeyBuilder(p);
};

beforeAll(() => {
  redis = connectRedis({ url: 'redis://127.0.0.1:6379', connectionName: 'vigil-detection-test' });
});
afterAll(async () => {
  for (const p of prefixes) await deleteKeys(redis, `${p}:*`);
  redis.disconnect();
});

/** A mixed stream: retry storms on two agents, answered and orphaned actions, out of order within the lateness. */
function mixedStream(n: number): ValidEvent[] {
  const out: ValidEvent[] = [];
  for (let i = 0; i < n; i++) {
    const at = i * 4_000;
    const agentId = i % 3 === 0 ? 'shop-helper' : 'travel-assistant';
    out.push(ev('action.requested', at, { agentId, intentId: `i-${i}`, attempt: 1 + (i % 4 === 0 ? 1 : 0), userId: `u_${i % 5}` }));
    if (i % 7 !== 3) out.push(ev(i % 5 === 0 ? 'action.failed' : 'action.succeeded', at + 2_500 - (i % 2) * 3_000, { agentId, intentId: `i-${i}`, attempt: 1 + (i % 4 === 0 ? 1 : 0), userId: `u_${i % 5}` }));
  }
  return out;
}

describe('live detection handler (Redis)', () => {
  it('gives the same findings as the pure engine for the same events split into batches, across restarts', async () => {
    const events = mixedStream(300);
    const policy = defaultPolicy({ detectors: TEST_DETECTORS });
    const expected = replayAll(TEST_DETECTORS, events, policy.rules);
    // everything but the findings the end of a replay settles (+Infinity): the live watermark never gets there
    const settledAtEnd = new Set(expected.filter((f) => Date.parse(f.detectedAt) + 300_000 > events.at(-1)!.ts - 5_000 - 4_000).map((f) => f.findingId));
    const keys = newKeys();
    const sink = new MemorySink();
    let i = 0;
    for (const batch of chunks(events, 17)) {
      // a new handler every few batches: a restart, or another instance taking over the partition
      const handler = createDetectionHandler({ redis, keys, policy, detectors: TEST_DETECTORS, sink });
      await handler.handle(batch, batchCtx(0));
      i++;
    }
    expect(expected.length).toBeGreaterThan(10);
    const want = expected.filter((f) => !settledAtEnd.has(f.findingId)).sort((a, b) => a.findingId.localeCompare(b.findingId));
    const got = sink.sorted().filter((f) => !settledAtEnd.has(f.findingId));
    expect(got).toEqual(want);
    expect(sink.byId.size).toBeLessThanOrEqual(expected.length);
    const [wm] = (await redis.hget(keys.detectorWatermarks(), 'agent.actions/0'))!.split('|');
    expect(Number(wm)).toBe(events.reduce((m, e) => Math.max(m, e.ts), 0) - 5_000);
    expect(i).toBeGreaterThan(10);
  });

  it('settles a pending decision on another instance once the watermark passes it', async () => {
    const keys = newKeys();
    const policy = openPolicy(TEST_DETECTORS);
    const sinkA = new MemorySink();
    const sinkB = new MemorySink();
    const req = ev('action.requested', 0, { intentId: 'i-lonely' });
    const a = createDetectionHandler({ redis, keys, policy, detectors: TEST_DETECTORS, sink: sinkA });
    await a.handle([req], batchCtx());
    const timers = await Promise.all(Array.from({ length: DETECTOR_STATE_BUCKETS }, (_, b) => redis.zrangebyscore(keys.detectorTimers(b), '-inf', '+inf', 'WITHSCORES')));
    expect(timers.flat()).toEqual([`orphaned_action:intent:u_1:i-lonely:1`, String(req.ts + 300_000)]);
    const b = createDetectionHandler({ redis, keys, policy, detectors: TEST_DETECTORS, sink: sinkB });
    await b.handle([ev('intent.parsed', 304_000, { intentId: 'i-other' })], batchCtx());
    expect(sinkB.byId.size).toBe(0);
    await b.handle([ev('intent.parsed', 305_000, { intentId: 'i-other' })], batchCtx());
    expect([...sinkB.byId.values()].map((f) => [f.kind, f.eventIds])).toEqual([['orphaned_action', [req.eventId]]]);
    expect((await Promise.all(Array.from({ length: DETECTOR_STATE_BUCKETS }, (_, i) => redis.zcard(keys.detectorTimers(i))))).every((n) => n === 0)).toBe(true);
  });

  it('a partition that runs ahead does not settle what a slower one still feeds; an idle one stops holding back', async () => {
    const keys = newKeys();
    const policy = openPolicy(TEST_DETECTORS);
    const sink = new MemorySink();
    const h = createDetectionHandler({ redis, keys, policy, detectors: TEST_DETECTORS, sink });
    const slowUser = { userId: 'u_slow', intentId: 'i-slow' };
    await h.handle([ev('action.requested', 0, slowUser)], batchCtx(1));
    // partition 0 is 20 minutes ahead: with one shared watermark the request above would look orphaned
    await h.handle([ev('intent.parsed', 20 * 60_000, { userId: 'u_fast' })], batchCtx(0));
    expect(sink.byId.size).toBe(0);
    await h.handle([ev('action.succeeded', 3_000, slowUser)], batchCtx(1));
    await h.handle([ev('intent.parsed', 40 * 60_000, { userId: 'u_fast' })], batchCtx(0));
    expect(sink.byId.size).toBe(0);

    // partition 1 goes quiet with a request pending: once idle, partition 0 settles it
    const lonely = ev('action.requested', 30 * 60_000, { userId: 'u_slow', intentId: 'i-lonely' });
    await h.handle([lonely], batchCtx(1));
    const impatient = createDetectionHandler({ redis, keys, policy, detectors: TEST_DETECTORS, sink, idlePartitionMs: 1 });
    await sleep(20);
    await impatient.handle([ev('intent.parsed', 50 * 60_000, { userId: 'u_fast' })], batchCtx(0));
    expect([...sink.byId.values()].map((f) => f.eventIds)).toEqual([[lonely.eventId]]);
  });

  it('two handlers racing on one agent slice lose no update', async () => {
    const keys = newKeys();
    const policy = openPolicy([tally]);
    const sink = new MemorySink();
    const h1 = createDetectionHandler({ redis, keys, policy, detectors: [tally], sink });
    const h2 = createDetectionHandler({ redis, keys, policy, detectors: [tally], sink });
    const events = Array.from({ length: 400 }, (_, i) => ev('intent.parsed', i, { agentId: 'racer', intentId: `i-${i}` }));
    const batches = chunks(events, 10);
    // each instance handles its partition's batches one after another, both at once on the same slice
    const run = async (h: typeof h1, partition: number) => {
      for (let i = partition; i < batches.length; i += 2) await h.handle(batches[i]!, batchCtx(partition));
    };
    await Promise.all([run(h1, 0), run(h2, 1)]);
    const slice = await redis.hgetall(keys.detectorSlice(bucketOf('runaway_agent', 'agent:racer'), 'runaway_agent', 'agent:racer'));
    expect(JSON.parse(slice.s!)).toEqual({ n: 400 });
    // each of the 40 batches saved it once (a conflicting attempt saves nothing); versions only grow
    // (a script call takes its versions from the bucket counter at once: a conflict leaves a gap)
    expect(h1.stats.slicesSaved + h2.stats.slicesSaved).toBe(40);
    expect(Number(slice.v)).toBeGreaterThanOrEqual(40);
    expect(h1.stats.conflicts + h2.stats.conflicts).toBeGreaterThan(0);
  });

  it('a retried batch is idempotent: saved slices are not applied twice and their findings are re-sent', async () => {
    const keys = newKeys();
    const detectors = [tally, ...TEST_DETECTORS];
    const policy = openPolicy(detectors);
    const sink = new MemorySink();
    const h = createDetectionHandler({ redis, keys, policy, detectors, sink });
    const retries = [0, 1, 2].map((i) => ev('action.requested', i * 1000, { attempt: 2, intentId: `i-r${i}`, agentId: 'retrier' }));
    const ctx = batchCtx();
    sink.failNext = 1;
    const err = await h.handle(retries, ctx).catch((e: unknown) => e);
    expect(isRetriable(err)).toBe(true);
    expect(sink.byId.size).toBe(0);
    await h.handle(retries, ctx);
    expect([...sink.byId.values()].map((f) => f.kind)).toEqual(['retry_spike']);
    expect(h.stats.replayedSlices).toBeGreaterThan(0);
    const slice = await redis.hgetall(keys.detectorSlice(bucketOf('runaway_agent', 'agent:retrier'), 'runaway_agent', 'agent:retrier'));
    expect(JSON.parse(slice.s!)).toEqual({ n: 3 });
  });

  it('a redelivery with other batch boundaries applies each event once (longer, then shorter)', async () => {
    const keys = newKeys();
    const detectors = [tally, ...TEST_DETECTORS];
    const policy = openPolicy(detectors);
    const sink = new MemorySink();
    const h = createDetectionHandler({ redis, keys, policy, detectors, sink });
    const evs = Array.from({ length: 9 }, (_, i) => ev('action.requested', i * 1000, { attempt: 2, intentId: `i-b${i}`, agentId: 'redelivered' }));
    const key = keys.detectorSlice(bucketOf('runaway_agent', 'agent:redelivered'), 'runaway_agent', 'agent:redelivered');
    // the first attempt saves its slices, then fails to publish: Kafka redelivers from the same offset
    sink.failNext = 1;
    await expect(h.handle(evs.slice(0, 6), batchCtx())).rejects.toThrow(/sink down/);
    expect(JSON.parse((await redis.hget(key, 's'))!)).toEqual({ n: 6 });
    // …as a longer batch this time
    sink.failNext = 1;
    await expect(h.handle(evs, batchCtx())).rejects.toThrow(/sink down/);
    expect(JSON.parse((await redis.hget(key, 's'))!)).toEqual({ n: 9 });
    // …and then a shorter one: nothing more to apply, the findings go out
    await h.handle(evs.slice(0, 4), batchCtx());
    expect(JSON.parse((await redis.hget(key, 's'))!)).toEqual({ n: 9 });
    expect([...sink.byId.values()].map((f) => f.kind)).toEqual(['retry_spike']);
    // a new batch after it applies normally
    await h.handle([ev('intent.parsed', 20_000, { agentId: 'redelivered' })], batchCtx());
    expect(JSON.parse((await redis.hget(key, 's'))!)).toEqual({ n: 10 });
  });

  // issue 12, the chaos run's lost findings: a batch's slices were saved (in the outage, a save that timed
  // out yet ran once Redis came back), its findings never published; Kafka then redelivers from another
  // first event (the previous batch's dedupe mark was lost, the consumer rejoined at an older committed
  // offset, or the fetch ended elsewhere). The slices must know the events by their offsets, not by the
  // batch's first eventId: no event applied twice, and the findings of the failed attempt sent again.
  it('a redelivery that starts at another event (earlier, or split before the saved events) applies each event once and re-sends the findings', async () => {
    const detectors = [tally, ...TEST_DETECTORS];
    const policy = openPolicy(detectors);
    // three plain events, then retries: the retry_spike finding comes from events 3..5
    const evs = Array.from({ length: 9 }, (_, i) =>
      i < 3 ? ev('intent.parsed', i * 1000, { intentId: `i-o${i}`, agentId: 'offsets' }) : ev('action.requested', i * 1000, { attempt: 2, intentId: `i-o${i}`, agentId: 'offsets' }),
    );
    const sliceOf = (keys: KeyBuilder) => keys.detectorSlice(bucketOf('runaway_agent', 'agent:offsets'), 'runaway_agent', 'agent:offsets');
    const base = 1_000;

    // merged: batch [0..2] handled (its dedupe mark lost), batch [3..5] saved then failed; redelivered as [0..8]
    {
      const keys = newKeys();
      const sink = new MemorySink();
      const h = createDetectionHandler({ redis, keys, policy, detectors, sink });
      await h.handle(evs.slice(0, 3), offsetCtx(evs.slice(0, 3), base));
      sink.failNext = 1;
      await expect(h.handle(evs.slice(3, 6), offsetCtx(evs.slice(3, 6), base + 3))).rejects.toThrow(/sink down/);
      expect(sink.byId.size).toBe(0);
      await h.handle(evs, offsetCtx(evs, base));
      expect(JSON.parse((await redis.hget(sliceOf(keys), 's'))!)).toEqual({ n: 9 });
      expect([...sink.byId.values()].map((f) => f.kind)).toEqual(['retry_spike']);
    }
    // split: batch [0..5] saved then failed; redelivered as [0..1], then [2..8]
    {
      const keys = newKeys();
      const sink = new MemorySink();
      const h = createDetectionHandler({ redis, keys, policy, detectors, sink });
      sink.failNext = 1;
      await expect(h.handle(evs.slice(0, 6), offsetCtx(evs.slice(0, 6), base))).rejects.toThrow(/sink down/);
      await h.handle(evs.slice(0, 2), offsetCtx(evs.slice(0, 2), base));
      await h.handle(evs.slice(2), offsetCtx(evs.slice(2), base + 2));
      expect(JSON.parse((await redis.hget(sliceOf(keys), 's'))!)).toEqual({ n: 9 });
      expect([...sink.byId.values()].map((f) => f.kind)).toEqual(['retry_spike']);
    }
  });

  it('a finding made by an attempt that saved its slices but failed is published by a redelivery that starts earlier (confirmation_mismatch, issue 12)', async () => {
    // confirmation_mismatch fires once per intent and then ignores the intent's events (done): applying
    // the saved events again makes no new finding, so only the saved marks can send it
    const detectors = [confirmationMismatch];
    const policy = openPolicy(detectors);
    const keys = newKeys();
    const sink = new MemorySink();
    const h = createDetectionHandler({ redis, keys, policy, detectors, sink });
    const who = { userId: 'u_cm', intentId: 'i-cm' };
    const b0 = [ev('confirmation.accepted', 0, { ...who, payloadHash: 'sha256:agreed' }), ev('intent.parsed', 500, { userId: 'u_other', intentId: 'i-other' })];
    const b1 = [ev('action.requested', 1_000, { ...who, payloadHash: 'sha256:changed' }), ev('intent.parsed', 60_000, { userId: 'u_other', intentId: 'i-later' })];
    await h.handle(b0, offsetCtx(b0, 500));
    // b1 makes the finding and saves its slice; the publish fails (in the chaos run: a save that timed out and ran later)
    sink.failNext = 1;
    await expect(h.handle(b1, offsetCtx(b1, 502))).rejects.toThrow(/sink down/);
    expect(sink.byId.size).toBe(0);
    // Kafka redelivers from b0's first offset (its dedupe mark was lost, or the consumer rejoined at an older commit)
    await h.handle([...b0, ...b1], offsetCtx([...b0, ...b1], 500));
    expect([...sink.byId.values()].map((f) => f.kind)).toEqual(['confirmation_mismatch']);
  });

  // issue 12, chaos seed 7: a batch's pass settled a timer of a slice its events do not touch (here an
  // orphaned action of another intent; in the chaos run duplicate_action and idempotency_key_reuse, which
  // fire on the watermark), saved the slice (its timer removed) and then failed to publish (the broker
  // went away). The redelivered batch neither touches that slice nor finds its timer due any more: the
  // finding must still go out.
  it('a finding settled by a due timer on a slice the batch does not touch, saved by an attempt that then failed to publish, is still published (issue 12, seed 7)', async () => {
    const keys = newKeys();
    const policy = openPolicy(TEST_DETECTORS);
    const sink = new MemorySink();
    const h = createDetectionHandler({ redis, keys, policy, detectors: TEST_DETECTORS, sink, unsentGraceMs: 0 });
    const req = ev('action.requested', 0, { intentId: 'i-timer' });
    await h.handle([req], offsetCtx([req], 700));
    const later = [ev('intent.parsed', 305_000, { intentId: 'i-after' })];
    sink.failNext = 1;
    await expect(h.handle(later, offsetCtx(later, 701))).rejects.toThrow(/sink down/);
    expect(sink.byId.size).toBe(0);
    // Kafka redelivers the batch (same offsets), then the tick: the timer's finding goes out, once
    await h.handle(later, offsetCtx(later, 701));
    await h.tick();
    expect([...sink.byId.values()].map((f) => [f.kind, f.eventIds])).toEqual([['orphaned_action', [req.eventId]]]);
    const calls = sink.calls;
    await h.tick();
    expect(sink.calls, 'nothing left unsent once published').toBe(calls);
    // …and when the instance died after the failed publish, another one (cold, nothing in memory) sends it
    const keys2 = newKeys();
    const sink2 = new MemorySink();
    const a = createDetectionHandler({ redis, keys: keys2, policy, detectors: TEST_DETECTORS, sink: sink2, unsentGraceMs: 0 });
    await a.handle([req], offsetCtx([req], 700));
    sink2.failNext = 1;
    await expect(a.handle(later, offsetCtx(later, 701))).rejects.toThrow(/sink down/);
    const b = createDetectionHandler({ redis, keys: keys2, policy, detectors: TEST_DETECTORS, sink: sink2, unsentGraceMs: 0 });
    await b.handle(later, offsetCtx(later, 701));
    await b.tick();
    expect([...sink2.byId.values()].map((f) => [f.kind, f.eventIds])).toEqual([['orphaned_action', [req.eventId]]]);
  });

  // issue 12, chaos seed 42 (old code): a runaway_agent finding was lost although its slice was touched by
  // the redelivered batch: the failed attempt settled the slice's window and, the watermark past its end,
  // deleted the slice, marks and all. The redelivery starts a fresh slice from the batch's own events
  // (one request, under the threshold) and makes no finding: only the unsent findings can send it.
  it('a finding of a slice the failed attempt settled and deleted (expired) is still published (issue 12)', async () => {
    const keys = newKeys();
    const policy = parsePolicy(OPEN_EVENT_TIME + 'detectors:\n  runaway_agent: { params: { maxActions: 3, windowMs: 60000 } }\n', 'p.yaml', { detectors: [runawayAgent] });
    const sink = new MemorySink();
    const h = createDetectionHandler({ redis, keys, policy, detectors: [runawayAgent], sink, unsentGraceMs: 0 });
    const req = (at: number, userId: string) => ev('action.requested', at, { userId, agentId: 'looper', intentId: `i-${at}`, attempt: 1 });
    const b0 = [req(0, 'u_loop'), req(1_000, 'u_loop')];
    await h.handle(b0, offsetCtx(b0, 900));
    // the third request, and another user's event far later: the window closes (finding), the slice expires
    const b1 = [req(2_000, 'u_loop'), ev('intent.parsed', 900_000, { userId: 'u_else', intentId: 'i-else' })];
    sink.failNext = 1;
    await expect(h.handle(b1, offsetCtx(b1, 902))).rejects.toThrow(/sink down/);
    await h.handle(b1, offsetCtx(b1, 902));
    await h.tick();
    expect([...sink.byId.values()].map((f) => f.kind)).toEqual(['runaway_agent']);
  });

  it('gives each slice key a TTL from its expiresAt, and deletes expired slices', async () => {
    const keys = newKeys();
    const policy = openPolicy(TEST_DETECTORS);
    const h = createDetectionHandler({ redis, keys, policy, detectors: TEST_DETECTORS, sink: new MemorySink() });
    await h.handle([ev('action.requested', 0, { attempt: 2, agentId: 'ttl-agent', intentId: 'i-ttl' })], batchCtx());
    const key = keys.detectorSlice(bucketOf('retry_spike', 'agent:ttl-agent'), 'retry_spike', 'agent:ttl-agent');
    const ttl = await redis.pttl(key);
    // expiresAt = ts + 60 s; watermark = ts − 5 s: 65 s of event time left, + lateness + 60 s slack
    expect(ttl).toBeGreaterThan(125_000);
    expect(ttl).toBeLessThanOrEqual(130_000);
    // a later event on the expired slice starts it afresh, as in the pure engine
    await h.handle([ev('action.requested', 10 * 60_000, { attempt: 2, agentId: 'ttl-agent', intentId: 'i-ttl2' })], batchCtx());
    expect(JSON.parse((await redis.hget(key, 's'))!).hits).toHaveLength(1);
  });

  it('deletes a slice whose timer settles and that expires in the same batch', async () => {
    const keys = newKeys();
    const sink = new MemorySink();
    const h = createDetectionHandler({ redis, keys, policy: openPolicy(TEST_DETECTORS), detectors: TEST_DETECTORS, sink });
    const req = ev('action.requested', 0, { intentId: 'i-gone', agentId: 'del-agent' });
    await h.handle([req], batchCtx());
    const id = 'intent:u_1:i-gone:1';
    const key = keys.detectorSlice(bucketOf('orphaned_action', id), 'orphaned_action', id);
    expect(await redis.exists(key)).toBe(1);
    await h.handle([ev('intent.parsed', 20 * 60_000, { agentId: 'other' })], batchCtx());
    expect(await redis.exists(key)).toBe(0);
    expect([...sink.byId.values()].map((f) => f.eventIds)).toEqual([[req.eventId]]);
  });

  it('fails the batch with a retriable error when a slice keeps changing under it, and publishes nothing', async () => {
    const keys = newKeys();
    const policy = openPolicy([tally]);
    const sliceKey = keys.detectorSlice(bucketOf('runaway_agent', 'agent:hot'), 'runaway_agent', 'agent:hot');
    await redis.hset(sliceKey, 'v', 1, 's', '{"n":0}', 'k', '', 'm', '{}');
    // another writer that bumps the slice's version just before each of our round trips
    const meddling = new Proxy(redis, {
      get(target, prop, receiver) {
        if (prop === 'pipeline') {
          return () => {
            const pipe = target.pipeline();
            const exec = pipe.exec.bind(pipe);
            pipe.exec = (async () => {
              await target.hincrby(sliceKey, 'v', 1);
              return exec();
            }) as typeof pipe.exec;
            return pipe;
          };
        }
        const v = Reflect.get(target, prop, receiver);
        return typeof v === 'function' ? v.bind(target) : v;
      },
    });
    const sink = new MemorySink();
    const h = createDetectionHandler({ redis: meddling, keys, policy, detectors: [tally], sink, maxConflictRetries: 2 });
    const err = await h.handle([ev('intent.parsed', 0, { agentId: 'hot' })], batchCtx()).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(DetectionStoreError);
    expect(isRetriable(err)).toBe(true);
    expect((err as Error).message).toMatch(/kept changing under this batch after 2 re-runs \(e\.g\. runaway_agent:agent:hot\)/);
    expect(h.stats.conflicts).toBe(3);
    expect(sink.calls).toBe(0);
    expect(JSON.parse((await redis.hget(sliceKey, 's'))!)).toEqual({ n: 0 });
  });

  it('serves the slices it saved from memory, checks every guess by version, and forgets a partition it lost', async () => {
    const keys = newKeys();
    const policy = openPolicy([tally]);
    const sink = new MemorySink();
    const h = createDetectionHandler({ redis, keys, policy, detectors: [tally], sink });
    const key = keys.detectorSlice(bucketOf('runaway_agent', 'agent:held'), 'runaway_agent', 'agent:held');
    const on = (i: number) => [ev('intent.parsed', i * 1000, { agentId: 'held', intentId: `i-h${i}` })];
    await h.handle(on(0), batchCtx(0)); // a new slice: taken as absent, nothing read
    await h.handle(on(1), batchCtx(0)); // held here: nothing read either
    expect(h.stats.slicesLoaded).toBe(0);
    expect(h.stats.conflicts).toBe(0);
    // another writer changes the slice behind this instance's back: the save conflicts, it reloads and runs again
    await redis.hset(key, 's', '{"n":10}', 'v', 7);
    await h.handle(on(2), batchCtx(0));
    expect(h.stats.conflicts).toBe(1);
    expect(JSON.parse((await redis.hget(key, 's'))!)).toEqual({ n: 11 });
    // conflicted although held: contended, read from Redis from now on
    await h.handle(on(3), batchCtx(0));
    expect(h.stats.slicesLoaded).toBe(2);
    expect(JSON.parse((await redis.hget(key, 's'))!)).toEqual({ n: 12 });

    // partition 1's slice, held; then a rebalance leaves this instance partition 0 only
    const other = (i: number) => [ev('intent.parsed', i * 1000, { agentId: 'moved', intentId: `i-m${i}` })];
    await h.handle(other(0), batchCtx(1));
    h.assigned!('agent.actions', [0]);
    const conflicts = h.stats.conflicts;
    await h.handle(other(1), batchCtx(1)); // forgotten: taken as absent, the version check finds it
    expect(h.stats.conflicts).toBe(conflicts + 1);
    const moved = keys.detectorSlice(bucketOf('runaway_agent', 'agent:moved'), 'runaway_agent', 'agent:moved');
    expect(JSON.parse((await redis.hget(moved, 's'))!)).toEqual({ n: 2 });
  });

  it('never repeats a version: a slice deleted and created again is not taken for the one an instance holds', async () => {
    const keys = newKeys();
    const policy = openPolicy([tally]);
    const sink = new MemorySink();
    const h1 = createDetectionHandler({ redis, keys, policy, detectors: [tally], sink });
    const h2 = createDetectionHandler({ redis, keys, policy, detectors: [tally], sink });
    const key = keys.detectorSlice(bucketOf('runaway_agent', 'agent:aba'), 'runaway_agent', 'agent:aba');
    const on = (i: number) => [ev('intent.parsed', i * 1000, { agentId: 'aba', intentId: `i-aba${i}` })];
    await h1.handle(on(0), batchCtx(0)); // h1 holds it, {n: 1}
    await redis.del(key); // expired…
    await h2.handle([...on(1), ...on(2)], batchCtx(1)); // …and created again elsewhere: {n: 2}
    await h1.handle(on(3), batchCtx(0)); // h1's version is stale although the slice was created once more
    expect(h1.stats.conflicts).toBe(1);
    expect(JSON.parse((await redis.hget(key, 's'))!)).toEqual({ n: 3 });
  });

  it('hands out versions above every stored one when the bucket counter is behind (lost or reset)', async () => {
    const keys = newKeys();
    const store = new SliceStore(redis, keys);
    // three slices of one bucket, saved in one script call
    const ids: string[] = [];
    for (let n = 0; ids.length < 3; n++) if (detectorBucketOf('runaway_agent', `agent:v${n}`) === 5) ids.push(`agent:v${n}`);
    const write = (key: string, expectedVersion: number, n: number) => ({ kind: 'runaway_agent', key, expectedVersion, state: { n }, matchKey: '', marks: {}, ttlMs: 60_000, due: undefined });
    const first = await store.save(ids.map((k) => write(k, 0, 1)));
    expect(new Set(first).size).toBe(3);
    expect(first.every((v) => v >= 1)).toBe(true);
    // the counter is lost, and the middle slice holds a version far above it
    await redis.del(keys.detectorVersions(5));
    await redis.hset(keys.detectorSlice(5, 'runaway_agent', ids[1]!), 'v', 1000);
    const second = await store.save([write(ids[0]!, first[0]!, 2), write(ids[1]!, 1000, 2), write(ids[2]!, first[2]!, 2)]);
    expect(second[1]).toBeGreaterThan(1000);
    expect(second[2]).toBeGreaterThan(second[1]!);
    expect(new Set(second).size).toBe(3);
    // the counter moved past them: the next call never repeats one
    const third = await store.save([write(ids[0]!, second[0]!, 3)]);
    expect(third[0]).toBeGreaterThan(second[2]!);
    expect(Number(await redis.get(keys.detectorVersions(5)))).toBeGreaterThanOrEqual(third[0]!);
  });

  it('runs by the policy: shadow and policyVersion on the findings', async () => {
    const keys = newKeys();
    const policy = parsePolicy(OPEN_EVENT_TIME + 'detectors:\n  retry_spike: { mode: shadow, params: { maxRetries: 2 } }\n', 'p.yaml', { detectors: TEST_DETECTORS });
    const sink = new MemorySink();
    const h = createDetectionHandler({ redis, keys, policy: { current: () => policy }, detectors: TEST_DETECTORS, sink });
    await h.handle([0, 1].map((i) => ev('action.requested', i, { attempt: 2, intentId: `i-p${i}`, agentId: 'pol' })), batchCtx());
    expect([...sink.byId.values()].map((f) => [f.kind, f.shadow, f.policyVersion])).toEqual([['retry_spike', true, policy.version]]);
  });
});

const bucketOf = detectorBucketOf;

