import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ValidEvent } from '../../processors/core/events.ts';
import type { Finding } from '../../processors/core/finding.ts';
import { ALL_DETECTORS } from '../../processors/registry.ts';
import { createDetectionHandler, type DetectionHandler } from '../../src/detection/detection-handler.ts';
import { SliceStore } from '../../src/detection/slice-store.ts';
import { defaultPolicy } from '../../src/policy/load-policy.ts';
import { connectRedis, type RedisClient } from '../../src/redis/connection.ts';
import { KeyBuilder } from '../../src/redis/keys.ts';
import { deleteKeys } from '../helpers/redis-server.ts';
import { randomName } from '../helpers/wait.ts';
import { chunks, MemorySink, offsetCtx } from './fixtures/live-helpers.ts';
import { brief, partitionOf, replayOf, traffic } from './fixtures/partitioned-traffic.ts';

/**
 * Partition-resident state (src/detection/resident-state.ts): the slices of the partition-local detectors
 * stay in memory with their partition between batches and are written with the partition's record. These
 * tests hand one partition from instance to instance, redeliver batches, fail passes half-way and race a
 * stale owner's save, and ask each time for exactly replay's findings, each published once.
 */
let redis: RedisClient;
const prefixes: string[] = [];
const policy = defaultPolicy({ detectors: ALL_DETECTORS });
const TOPIC = 'agent.actions';

beforeAll(() => {
  redis = connectRedis({ url: 'redis://127.0.0.1:6379', connectionName: 'vigil-resident-test' });
});
afterAll(async () => {
  for (const p of prefixes) await deleteKeys(redis, `${p}:*`);
  redis.disconnect();
});

function keysFor(): KeyBuilder {
  const prefix = randomName('vigil-test-resident');
  prefixes.push(prefix);
  return new KeyBuilder(prefix);
}

/** A sink that counts how often each finding is published (at-least-once is fine; lost is not). */
class CountingSink extends MemorySink {
  readonly times = new Map<string, number>();
  override async publish(findings: readonly Finding[]): Promise<void> {
    await super.publish(findings);
    for (const f of findings) this.times.set(f.findingId, (this.times.get(f.findingId) ?? 0) + 1);
  }
}

const handlerOf = (keys: KeyBuilder, sink: MemorySink): DetectionHandler =>
  createDetectionHandler({ redis, keys, policy, detectors: ALL_DETECTORS, sink, expectedPartitions: 3 });

/** The traffic split over three partitions by user, each as batches with their Kafka offsets. */
function partitioned(events: readonly ValidEvent[], batch: number) {
  const parts: ValidEvent[][] = [[], [], []];
  for (const e of events) parts[partitionOf(e, 3)]!.push(e);
  return parts.map((list, p) => chunks(list, batch).map((b, i) => ({ events: b, ctx: { ...offsetCtx(b, i * batch, p), topic: TOPIC } })));
}

/** Round-robin over the partitions' batches: `pick(turn, partition)` says which handler takes each. */
async function feedBy(parts: ReturnType<typeof partitioned>, pick: (turn: number, partition: number) => DetectionHandler, from = 0, to = Infinity) {
  for (let turn = from; turn < Math.min(to, Math.max(...parts.map((p) => p.length))); turn++) {
    for (let p = 0; p < parts.length; p++) {
      const b = parts[p]![turn];
      if (b !== undefined) await pick(turn, p).handle(b.events, b.ctx);
    }
  }
}

describe('partition-resident detector state', () => {
  const events = traffic(9_000, 31, 3);
  const want = replayOf(events, policy.rules).findings;

  it('holds the user and intent slices in one hash per partition, not in keys of their own', async () => {
    const keys = keysFor();
    const sink = new CountingSink();
    const h = handlerOf(keys, sink);
    await feedBy(partitioned(events, 300), () => h);
    expect(brief(sink.sorted())).toEqual(brief(want));
    const hash = await redis.hgetall(keys.detectorResident(`${TOPIC}/0`));
    const kinds = new Set(Object.keys(hash).filter((f) => !f.startsWith('~')).map((f) => f.slice(0, f.indexOf(':'))));
    expect([...kinds].every((k) => ALL_DETECTORS.find((d) => d.kind === k)?.partitionLocal === true)).toBe(true);
    expect(kinds.size).toBeGreaterThan(3);
    expect(Number(hash['~o'])).toBeGreaterThan(0);
    expect(h.stats.resident.written).toBeGreaterThan(100);
    expect(h.residentSlices()).toBeGreaterThan(0);
    // no slice key of a resident kind
    const own = [];
    let cursor = '0';
    do {
      const [next, found] = await redis.scan(cursor, 'MATCH', `${keys.prefix}:ds:*`, 'COUNT', 1000);
      cursor = next;
      own.push(...found.filter((k) => /:(orphaned_action|duplicate_action|action_after_consent_revoked|scope_violation):/.test(k)));
    } while (cursor !== '0');
    expect(own).toEqual([]);
  });

  it('a restarted instance restores each partition and goes on: replay findings, each published once', async () => {
    const keys = keysFor();
    const sink = new CountingSink();
    const parts = partitioned(events, 300);
    const first = handlerOf(keys, sink);
    await feedBy(parts, () => first, 0, 5);
    const second = handlerOf(keys, sink);
    await feedBy(parts, () => second, 5);
    expect(second.stats.resident.restores).toBe(3);
    expect(second.stats.resident.restoredSlices).toBeGreaterThan(0);
    expect(brief(sink.sorted())).toEqual(brief(want));
    expect([...sink.times.values()].every((n) => n === 1)).toBe(true);
  });

  it('two instances taking the partitions in turn (rebalances back and forth): the stale holder restores, findings equal replay', async () => {
    const keys = keysFor();
    const sink = new CountingSink();
    const a = handlerOf(keys, sink);
    const b = handlerOf(keys, sink);
    await feedBy(partitioned(events, 250), (turn, p) => ((turn + p) % 3 === 0 ? b : a));
    expect(a.stats.resident.restores).toBeGreaterThan(3);
    expect(b.stats.resident.restores).toBeGreaterThan(3);
    expect(brief(sink.sorted())).toEqual(brief(want));
  });

  it('a batch redelivered (the commit was lost) applies nothing twice, held or restored', async () => {
    const keys = keysFor();
    const sink = new CountingSink();
    const parts = partitioned(events, 300);
    const h = handlerOf(keys, sink);
    const again = handlerOf(keys, sink);
    for (let turn = 0; turn < Math.max(...parts.map((p) => p.length)); turn++) {
      for (let p = 0; p < 3; p++) {
        const bt = parts[p]![turn];
        if (bt === undefined) continue;
        await h.handle(bt.events, bt.ctx);
        // every third batch comes again: to the same instance (state held), or to another (restored)
        if (turn % 3 === 1) await h.handle(bt.events, bt.ctx);
        if (turn % 3 === 2) await again.handle(bt.events, bt.ctx);
      }
    }
    expect(brief(sink.sorted())).toEqual(brief(want));
    // a redelivery may publish a finding again (the sink skips it by id); none may be lost or changed
    expect(sink.byId.size).toBe(new Set(want.map((f) => f.findingId)).size);
  });

  it('a pass whose publish fails leaves the held state behind: the retry restores it and makes the same findings', async () => {
    const keys = keysFor();
    const sink = new CountingSink();
    // a shared slice's finding from a due timer its batch's retry does not touch is sent by a tick (the outbox)
    const h = createDetectionHandler({ redis, keys, policy, detectors: ALL_DETECTORS, sink, expectedPartitions: 3, unsentGraceMs: 0 });
    const parts = partitioned(events, 300);
    let failures = 0;
    for (let turn = 0; turn < Math.max(...parts.map((p) => p.length)); turn++) {
      for (let p = 0; p < 3; p++) {
        const bt = parts[p]![turn];
        if (bt === undefined) continue;
        sink.failNext = turn % 2; // every other batch's first publish fails (when it has findings)
        for (;;) {
          try {
            await h.handle(bt.events, bt.ctx);
            break;
          } catch (e) {
            expect(String(e)).toMatch(/sink down/);
            failures++;
          }
        }
        sink.failNext = 0;
      }
    }
    expect(failures).toBeGreaterThan(3);
    expect(h.stats.resident.restores).toBeGreaterThanOrEqual(3 + failures);
    const resident = (f: Finding) => ALL_DETECTORS.find((d) => d.kind === f.kind)?.partitionLocal === true;
    // the resident kinds' findings are all out before any tick: the retry made them again
    expect(brief(sink.sorted().filter(resident))).toEqual(brief(want.filter(resident)));
    await h.tick();
    expect(brief(sink.sorted())).toEqual(brief(want));
  });

  it("a stale owner's save is refused by the partition record's version, and the resident state is left as the new owner wrote it", async () => {
    const keys = keysFor();
    const store = new SliceStore(redis, keys);
    const partition = `${TOPIC}/0`;
    const base = { partition, watermark: 1000, newest: 2000, stream: 2000, active: true, held: '', settled: 1000 };
    const v1 = await store.savePartition({ ...base, expectedVersion: 0, resident: { sets: ['orphaned_action:i:u1:x', '{"s":{"n":1},"k":""}', '~o', '10'], dels: [], ttlMs: 60_000 } });
    expect(v1).toBe(1);
    // the new owner saves version 2
    const v2 = await store.savePartition({ ...base, expectedVersion: 1, resident: { sets: ['orphaned_action:i:u1:x', '{"s":{"n":2},"k":""}', '~o', '20'], dels: [], ttlMs: 60_000 } });
    expect(v2).toBe(2);
    // the old owner, still at version 1, tries to write its own view and to delete the slice
    const stale = await store.savePartition({ ...base, expectedVersion: 1, resident: { sets: ['~o', '15'], dels: ['orphaned_action:i:u1:x'], ttlMs: 60_000 } });
    expect(stale).toBe(-1);
    expect(await redis.hgetall(keys.detectorResident(partition))).toEqual({ 'orphaned_action:i:u1:x': '{"s":{"n":2},"k":""}', '~o': '20' });
    const ttl = await redis.pttl(keys.detectorResident(partition));
    expect(ttl > 50_000 && ttl <= 60_000).toBe(true);
    // deletes, and a save that leaves the held events as they are
    await redis.set(keys.detectorHeld(partition), '[1]');
    expect(await store.savePartition({ ...base, expectedVersion: 2, held: undefined, resident: { sets: [], dels: ['orphaned_action:i:u1:x'], ttlMs: 60_000 } })).toBe(3);
    expect(await redis.hgetall(keys.detectorResident(partition))).toEqual({ '~o': '20' });
    expect(await redis.get(keys.detectorHeld(partition))).toBe('[1]');
  });
});
