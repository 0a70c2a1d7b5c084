import type { ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { replayAll } from '../../processors/engine/replay-engine.ts';
import { confirmationMismatch } from '../../processors/confirmation-mismatch/detector.ts';
import { createDetectionHandler } from '../../src/detection/detection-handler.ts';
import { DetectionStoreError } from '../../src/detection/detection-store-error.ts';
import { isRetriable } from '../../src/errors/vigil-error.ts';
import type { BatchContext } from '../../src/ingest/batch-handler.ts';
import { connectRedis, type RedisClient } from '../../src/redis/connection.ts';
import { detectorBucketOf, KeyBuilder } from '../../src/redis/keys.ts';
import { freePort, removeDir, spawnRedis } from '../helpers/redis-server.ts';
import { batchCtx, MemorySink, offsetCtx, tally } from './fixtures/live-helpers.ts';
import { ev, openPolicy, TEST_DETECTORS } from './fixtures/test-detectors.ts';
import { stopChild } from '../helpers/child-process.ts';
import { waitFor } from '../helpers/wait.ts';
import type { Finding } from '../../processors/core/finding.ts';
import type { ValidEvent } from '../../processors/core/events.ts';


const dir = mkdtempSync(join(tmpdir(), 'vigil-outage-'));
let child: ChildProcess | undefined;
let client: RedisClient | undefined;
const persistent = ['--appendonly', 'yes', '--appendfsync', 'always'];

async function kill(): Promise<void> {
  const c = child;
  child = undefined;
  await stopChild(c, 'SIGKILL');
}

afterAll(async () => {
  client?.disconnect();
  await kill();
  removeDir(dir);
});

describe('live detection handler during a Redis outage', () => {
  it('fails the batch with a retriable error while Redis is down, then succeeds with nothing lost', async () => {
    const port = await freePort();
    child = await spawnRedis(port, dir, persistent);
    client = connectRedis({ url: `redis://127.0.0.1:${port}`, connectionName: 'vigil-outage-test' });
    client.on('error', () => {}); // refused connections while it is down are expected
    const detectors = [tally, ...TEST_DETECTORS];
    const policy = openPolicy(detectors);
    const sink = new MemorySink();
    const keys = new KeyBuilder('vigil-outage');
    const handler = createDetectionHandler({ redis: client, keys, policy, detectors, sink, commandTimeoutMs: 1000 });

    const retry = (i: number) => ev('action.requested', i * 1000, { attempt: 2, agentId: 'outage-agent', intentId: `i-o${i}` });
    const before = [retry(0), retry(1)];
    const during = [retry(2), retry(3), ev('intent.parsed', 400_000, { agentId: 'outage-agent' })];
    await handler.handle(before, batchCtx());

    await kill();
    const ctx: BatchContext = batchCtx();
    const err = await handler.handle(during, ctx).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(DetectionStoreError);
    expect(isRetriable(err)).toBe(true);
    expect(String((err as Error).message)).toMatch(/Redis/);

    child = await spawnRedis(port, dir, persistent);
    // ingest retries the same batch until it succeeds
    for (let attempt = 0; ; attempt++) {
      try {
        await handler.handle(during, ctx);
        break;
      } catch (e) {
        if (!isRetriable(e) || attempt > 50) throw e;
        await sleep(200);
      }
    }
    const all = [...before, ...during];
    const expected = replayAll(detectors, all, policy.rules).filter((f) => f.kind !== 'orphaned_action' || f.eventIds[0] !== during[2]!.eventId);
    expect(sink.sorted()).toEqual(expected.sort((a, b) => a.findingId.localeCompare(b.findingId)));
    expect(sink.sorted().map((f) => f.kind).sort()).toEqual(['orphaned_action', 'orphaned_action', 'orphaned_action', 'orphaned_action', 'retry_spike']);
    const tallyKey = (await client.keys('vigil-outage:ds:*:runaway_agent:agent:outage-agent'))[0]!;
    expect(JSON.parse((await client.hget(tallyKey, 's'))!)).toEqual({ n: 5 });
  });

  // issue 12 (the chaos run's lost findings), as it happened: Redis stalls while a batch saves its slices;
  // the save times out, yet it waits in the client and runs once Redis answers again (a late write); the
  // finding it holds was never published. Kafka then redelivers from an earlier event (the consumer
  // rejoined at an older committed offset; the previous batch's dedupe mark was lost): the finding must
  // still go out, though applying the events again makes none (confirmation_mismatch fires once per intent).
  /**
   * A Redis of the test's own that is stopped (SIGSTOP) the moment confirmation_mismatch makes its
   * finding, between the pass's loads and its save (shared: `partitionLocal` off, its slice saved per
   * pass; resident: its slice saved with the partition's record), and the two batches of the scenario.
   */
  async function stallScenario(partitionLocal: boolean, body: (s: {
    redis: RedisClient; keys: KeyBuilder; sink: MemorySink; stallNext(): void; resume(): void;
    handler: ReturnType<typeof createDetectionHandler>; detectors: (typeof confirmationMismatch)[]; b0: ValidEvent[]; b1: ValidEvent[];
  }) => Promise<void>) {
    const port = await freePort();
    const stalled = await spawnRedis(port, mkdtempSync(join(tmpdir(), 'vigil-stall-')));
    const redis = connectRedis({ url: `redis://127.0.0.1:${port}`, connectionName: 'vigil-stall-test' });
    redis.on('error', () => {});
    try {
      let stallNow = false;
      const settle = confirmationMismatch.onWatermark!;
      const stalling = {
        ...confirmationMismatch,
        partitionLocal,
        onWatermark(s: Parameters<typeof settle>[0], w: number, c: Parameters<typeof settle>[2]) {
          const out = settle(s, w, c);
          if (stallNow && s.done) {
            stallNow = false;
            process.kill(stalled.pid!, 'SIGSTOP');
          }
          return out;
        },
      } as typeof confirmationMismatch;
      const detectors = [stalling];
      const sink = new MemorySink();
      const keys = new KeyBuilder(partitionLocal ? 'vigil-stall-r' : 'vigil-stall');
      const handler = createDetectionHandler({ redis, keys, policy: openPolicy(detectors), detectors, sink, commandTimeoutMs: 300 });
      const who = { userId: 'u_st', intentId: 'i-st' };
      const b0 = [ev('confirmation.accepted', 0, { ...who, payloadHash: 'sha256:agreed' }), ev('intent.parsed', 500, { userId: 'u_x', intentId: 'i-x' })];
      const b1 = [ev('action.requested', 1_000, { ...who, payloadHash: 'sha256:changed' }), ev('intent.parsed', 60_000, { userId: 'u_x', intentId: 'i-y' })];
      await body({ redis, keys, sink, handler, detectors, b0, b1, stallNext: () => (stallNow = true), resume: () => process.kill(stalled.pid!, 'SIGCONT') });
    } finally {
      redis.disconnect();
      try {
        process.kill(stalled.pid!, 'SIGCONT');
      } catch {}
      stalled.kill('SIGKILL');
    }
  }

  // The path of shared slices (their state saved per pass, findings filed as unsent with it).
  it('publishes the finding of a slice save that timed out in a stall and ran late, on a redelivery with other boundaries', async () => {
    await stallScenario(false, async ({ redis, keys, sink, handler, b0, b1, stallNext, resume }) => {
      await handler.handle(b0, offsetCtx(b0, 700));
      stallNext();
      const err = await handler.handle(b1, offsetCtx(b1, 702)).then(() => undefined, (e: unknown) => e);
      expect(err).toBeInstanceOf(DetectionStoreError);
      expect(String(err)).toMatch(/save detector state/);
      expect(sink.byId.size).toBe(0);
      resume();
      // the save that timed out runs now: the slice holds the finding's decision (done)
      const slice = keys.detectorSlice(detectorBucketOf('confirmation_mismatch', 'i:u_st:i-st'), 'confirmation_mismatch', 'i:u_st:i-st');
      await waitFor(async () => (await redis.hget(slice, 's')) ?? undefined, { timeoutMs: 5000, description: 'the late save' });
      expect(JSON.parse((await redis.hget(slice, 's'))!).done).toBe(true);

      await handler.handle([...b0, ...b1], offsetCtx([...b0, ...b1], 700));
      expect([...sink.byId.values()].map((f) => f.kind)).toEqual(['confirmation_mismatch']);
    });
  });

  // The same stall on partition-resident state (resident-state.ts): the finding is published before the
  // partition's save, which times out and runs late; the redelivery finds the state ahead of it (its
  // offsets), applies nothing twice and publishes nothing twice.
  it('resident state: a partition save that timed out in a stall and ran late loses nothing and repeats nothing on a redelivery', async () => {
    await stallScenario(true, async ({ redis, keys, sink, handler, detectors, b0, b1, stallNext, resume }) => {
      await handler.handle(b0, offsetCtx(b0, 700));
      stallNext();
      const err = await handler.handle(b1, offsetCtx(b1, 702)).then(() => undefined, (e: unknown) => e);
      expect(err).toBeInstanceOf(DetectionStoreError);
      expect(String(err)).toMatch(/save the partition watermark/);
      expect([...sink.byId.values()].map((f) => f.kind)).toEqual(['confirmation_mismatch']);
      resume();
      // the save that timed out runs now: the partition's hash holds the decision and the offsets it covers
      const partition = offsetCtx(b1, 702);
      const hash = keys.detectorResident(`${partition.topic}/${partition.partition}`);
      await waitFor(async () => (await redis.hget(hash, '~o')) === '703' || undefined, { timeoutMs: 5000, description: 'the late save' });
      expect(JSON.parse((await redis.hget(hash, 'confirmation_mismatch:i:u_st:i-st'))!).s.done).toBe(true);

      const published: string[] = [];
      const counting = { publish: async (fs: readonly Finding[]) => void published.push(...fs.map((f) => f.findingId)) };
      const next = createDetectionHandler({ redis, keys, policy: openPolicy(detectors), detectors, sink: counting, commandTimeoutMs: 2000 });
      await next.handle([...b0, ...b1], offsetCtx([...b0, ...b1], 700));
      expect(published).toEqual([]);
      expect(JSON.parse((await redis.hget(hash, 'confirmation_mismatch:i:u_st:i-st'))!).s.done).toBe(true);
    });
  });
});
