import fc from 'fast-check';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addToWindow, closeWindow, newWindow, type BucketWindow } from '../../processors/shared/bucket-window.ts';
import { vendorFailureRate } from '../../processors/vendor-failure-rate/detector.ts';
import { createDetectionHandler } from '../../src/detection/detection-handler.ts';
import { joinState, splitState, wholeState, type Parts } from '../../src/detection/slice-parts.ts';
import { SliceStore, type SliceWrite } from '../../src/detection/slice-store.ts';
import { connectRedis, type RedisClient } from '../../src/redis/connection.ts';
import { detectorBucketOf, KeyBuilder } from '../../src/redis/keys.ts';
import { deleteKeys } from '../helpers/redis-server.ts';
import { randomName } from '../helpers/wait.ts';
import { ev, openPolicy } from './fixtures/test-detectors.ts';
import { batchCtx, chunks, MemorySink } from './fixtures/live-helpers.ts';

/**
 * Slices stored in parts (src/detection/slice-parts.ts) on real Redis: whatever a window goes through —
 * events in and out of order, buckets closing, episodes clearing samples, old buckets dropped — a slice
 * saved pass after pass with only its changed buckets reads back as the state, and its hash holds
 * exactly the head and the current buckets (no part left behind).
 */

let redis: RedisClient;
const prefixes: string[] = [];
const newStore = () => {
  const p = randomName('vigil-test-parts');
  prefixes.push(p);
  const keys = new KeyBuilder(p);
  return { keys, store: new SliceStore(redis, keys) };
};

beforeAll(() => {
  redis = connectRedis({ url: 'redis://127.0.0.1:6379', connectionName: 'vigil-slice-parts-test' });
});
afterAll(async () => {
  for (const p of prefixes) await deleteKeys(redis, `${p}:*`);
  redis.disconnect();
});

interface State {
  vendor: string;
  w: BucketWindow | null;
}

type Op = { e: { dt: number; failed: boolean; user: number; unique: boolean } } | { close: number } | { save: true };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ e: fc.record({ dt: fc.integer({ min: -4_000, max: 3_000 }), failed: fc.integer({ min: 0, max: 9 }).map((n) => n < 7), user: fc.integer({ min: 0, max: 40 }), unique: fc.boolean() }) }) },
  { weight: 3, arbitrary: fc.record({ close: fc.integer({ min: 0, max: 4_000 }) }) },
  { weight: 2, arbitrary: fc.record({ save: fc.constant(true as const) }) },
);

const KIND = 'vendor_failure_rate';

/** A vendor's window with a failure every `step` ms over its first 5 s. */
function failing(vendor: string, step: number): State {
  const s: State = { vendor, w: newWindow(10_000, 1_000) };
  for (let t = 0; t < 5_000; t += step) addToWindow(s.w!, t, { t, id: `e${t}` }, { f: true, sample: true, unique: true }, 5);
  return s;
}

/** The write of `s` (undefined: a delete) expecting `expectedVersion`, with its parts as given. */
function writeOf(key: string, expectedVersion: number, s: State | undefined, split?: SliceWrite['split']): SliceWrite {
  return { kind: KIND, key, expectedVersion, state: s, matchKey: '', marks: {}, ttlMs: s === undefined ? 1 : 60_000, due: undefined, ...(split ? { split } : {}) };
}

const hashOf = (keys: KeyBuilder, key: string) => keys.detectorSlice(detectorBucketOf(KIND, key), KIND, key);

/** A new store with vendor `name`'s window (failing every `step` ms) saved in parts as its first version. */
async function savedInParts(name: string, step: number) {
  const { keys, store } = newStore();
  const key = `v:${name}`;
  const s = failing(name, step);
  const split = splitState(s, 'w');
  const [v] = await store.save([writeOf(key, 0, s, { ...split, before: undefined })]);
  return { store, key, hash: hashOf(keys, key), s, split, v: v! };
}

describe('slices stored in parts (real Redis)', () => {
  it('read back as the state after any sequence of window changes and saves, with no part left behind', async () => {
    const { keys, store } = newStore();
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 80 }), async (ops) => {
        const key = `v:acme-${run++}`;
        const hash = hashOf(keys, key);
        const s: State = { vendor: 'acme', w: null };
        let version = 0;
        let before: Parts | undefined;
        let now = 100_000;
        let n = 0;
        const save = async () => {
          const split = splitState(s, 'w');
          const [v] = await store.save([writeOf(key, version, s, { head: split.head, parts: split.parts, before })]);
          expect(v).toBeGreaterThan(version);
          version = v!;
          before = split.parts;
          const [back] = (await store.load([{ kind: KIND, key }])).slices;
          expect(back!.version).toBe(version);
          expect(back!.state).toEqual(JSON.parse(JSON.stringify(s)));
          // the hash: v, s, k, m and exactly one part per bucket the window holds now
          const fields = Object.keys(await redis.hgetall(hash)).filter((f) => f.startsWith('p:')).sort();
          expect(fields).toEqual((s.w?.b ?? []).map((b) => `p:w:${b.i}`).sort());
        };
        for (const op of ops) {
          if ('e' in op) {
            s.w ??= newWindow(10_000, 1_000);
            now += Math.max(0, op.e.dt);
            const t = now + Math.min(0, op.e.dt);
            addToWindow(s.w, t, { t, id: `e${n++}` }, { f: op.e.failed, sample: op.e.failed, who: { agent: 'a', user: `u${op.e.user}` }, unique: op.e.unique }, 5);
          } else if ('close' in op) {
            if (s.w !== null) closeWindow(s.w, now - op.close, (x) => x.n >= 3 && x.f * 2 >= x.n, () => {});
          } else await save();
        }
        await save();
      }),
      { numRuns: 120 },
    );
  });

  it('writes only the buckets that changed since the last save', async () => {
    const { keys, store } = newStore();
    const key = 'v:steady';
    const s: State = { vendor: 'steady', w: newWindow(60_000, 1_000) };
    // a full minute of failures, every bucket with samples and users
    for (let t = 0; t < 60_000; t += 50) addToWindow(s.w!, t, { t, id: `e${t}`, tr: `trace-${t}` }, { f: true, sample: true, who: { agent: `agent-${t % 7}`, user: `user-${t % 97}` }, unique: true }, 5);
    const hash = hashOf(keys, key);
    const first = splitState(s, 'w');
    const [v1] = await store.save([writeOf(key, 0, s, { head: first.head, parts: first.parts, before: undefined })]);
    // the next pass adds one event to the newest bucket
    addToWindow(s.w!, 59_990, { t: 59_990, id: 'late' }, { f: true, sample: true, who: { agent: 'agent-x', user: 'user-x' }, unique: true }, 5);
    const second = splitState(s, 'w');
    const seen: string[][] = [];
    const monitor = await new Redis('redis://127.0.0.1:6379').monitor();
    monitor.on('monitor', (_t: string, args: string[]) => seen.push(args));
    const [v2] = await store.save([writeOf(key, v1!, s, { head: second.head, parts: second.parts, before: first.parts })]);
    await new Promise((r) => setTimeout(r, 100));
    monitor.disconnect();
    expect(v2).toBeGreaterThan(v1!);
    const sent = seen.find((a) => a[0]?.toLowerCase() === 'evalsha')!;
    const bytes = sent.reduce((n, a) => n + a.length, 0);
    // one bucket of 60 went over the wire with the head: a small share of the whole state's JSON
    expect(sent.filter((a) => a.startsWith('p:w:'))).toEqual(['p:w:59']);
    expect(bytes).toBeLessThan(JSON.stringify(s).length / 10);
    expect((await store.load([{ kind: KIND, key }])).slices[0]!.state).toEqual(JSON.parse(JSON.stringify(s)));
    expect(Object.keys(await redis.hgetall(hash)).filter((f) => f.startsWith('p:'))).toHaveLength(60);
  });

  it('deletes a slice stored in parts with its parts, and leaves them alone on a conflict', async () => {
    const { store, key, hash, s, split, v } = await savedInParts('gone', 500);
    // a conflict (wrong version expected): nothing of it is written, the parts included
    addToWindow(s.w!, 9_000, { t: 9_000, id: 'x' }, { f: true, sample: true, unique: true }, 5);
    const next = splitState(s, 'w');
    expect(await store.save([writeOf(key, v + 1_000, s, { ...next, before: split.parts })])).toEqual([-1]);
    expect(await redis.hexists(hash, 'p:w:9')).toBe(0);
    // deleted: the hash goes, parts and all
    expect(await store.save([writeOf(key, v, undefined)])).toEqual([0]);
    expect(await redis.exists(hash)).toBe(0);
  });

  it('moves a slice saved whole (by a version before parts) into parts on its next save', async () => {
    const { keys, store } = newStore();
    const key = 'v:upgraded';
    const hash = hashOf(keys, key);
    const s = failing('upgraded', 700);
    await redis.hset(hash, 'v', '7', 's', JSON.stringify(s), 'k', '', 'm', '{}'); // as the old saveSlices wrote it
    const [old] = (await store.load([{ kind: KIND, key }])).slices;
    expect(old!.state).toEqual(JSON.parse(JSON.stringify(s)));
    expect(old!.parts).toBeUndefined();
    const split = splitState(old!.state, 'w');
    const [v] = await store.save([writeOf(key, 7, old!.state as State, { ...split, before: old!.parts })]);
    expect(v).toBeGreaterThan(7);
    expect(JSON.parse((await redis.hget(hash, 's'))!).w.b).toEqual([]);
    expect((await store.load([{ kind: KIND, key }])).slices[0]!.state).toEqual(JSON.parse(JSON.stringify(s)));
  });

  it('a slice written whole (several instances write it) deletes its parts and reads back the same', async () => {
    const { store, key, hash, s, split, v } = await savedInParts('shared', 400);
    addToWindow(s.w!, 5_500, { t: 5_500, id: 'more' }, { f: true, sample: true, unique: true }, 5);
    const [v2] = await store.save([writeOf(key, v, s, { ...wholeState(s), before: split.parts })]);
    expect(v2).toBeGreaterThan(v);
    expect(Object.keys(await redis.hgetall(hash)).filter((f) => f.startsWith('p:'))).toEqual([]);
    const [back] = (await store.load([{ kind: KIND, key }])).slices;
    expect(back!.state).toEqual(JSON.parse(JSON.stringify(s)));
    expect(back!.parts).toBeUndefined();
  });

  it('two handlers racing on one vendor window lose no event; one handler alone keeps it in parts', async () => {
    const { keys } = newStore();
    const policy = openPolicy([vendorFailureRate]);
    const hash = hashOf(keys, 'v:acme-air');
    const outcomes = (n: number, from: number) =>
      Array.from({ length: n }, (_, i) => ev(i % 2 === 0 ? 'action.failed' : 'action.succeeded', from + i * 5, { intentId: `i-${from}-${i}`, userId: `u_${i % 9}` }));
    const counted = async () => {
      const { state } = joinState((await redis.hget(hash, 's'))!, await redis.hgetall(hash));
      return ((state as State).w?.b ?? []).reduce((n, b) => n + (b as unknown as { n: number }).n, 0);
    };
    // one handler: the slice is held here only, and stored in parts
    const alone = createDetectionHandler({ redis, keys, policy, detectors: [vendorFailureRate], sink: new MemorySink() });
    for (const batch of chunks(outcomes(100, 0), 10)) await alone.handle(batch, batchCtx(0));
    expect(Object.keys(await redis.hgetall(hash)).some((f) => f.startsWith('p:'))).toBe(true);
    expect(await counted()).toBe(100);
    // two more, each on its own partition, both at once on the same vendor window
    const h1 = createDetectionHandler({ redis, keys, policy, detectors: [vendorFailureRate], sink: new MemorySink() });
    const h2 = createDetectionHandler({ redis, keys, policy, detectors: [vendorFailureRate], sink: new MemorySink() });
    const batches = chunks(outcomes(400, 600), 10);
    const run = async (h: typeof h1, partition: number) => {
      for (let i = partition; i < batches.length; i += 2) await h.handle(batches[i]!, batchCtx(partition));
    };
    await Promise.all([run(h1, 0), run(h2, 1)]);
    expect(h1.stats.conflicts + h2.stats.conflicts).toBeGreaterThan(0);
    expect(await counted()).toBe(500);
  });

  it('sets and deletes thousands of parts in one call (the script works in chunks: unpack() has a stack limit)', async () => {
    const { keys, store } = newStore();
    const key = 'v:backlog';
    // a backlog window: event time far ahead of the watermark keeps thousands of buckets open
    const s: State = { vendor: 'backlog', w: newWindow(60_000, 1_000) };
    for (let t = 0; t < 5_000_000; t += 1_000) addToWindow(s.w!, t, { t, id: `e${t}` }, { f: true, sample: true, unique: true }, 5);
    const split = splitState(s, 'w');
    expect(split.parts.size).toBe(5_000);
    const [v] = await store.save([writeOf(key, 0, s, { ...split, before: undefined })]);
    expect(await redis.hlen(hashOf(keys, key))).toBe(4 + 5_000);
    expect((await store.load([{ kind: KIND, key }])).slices[0]!.state).toEqual(JSON.parse(JSON.stringify(s)));
    // written whole (contended): all 5,000 parts deleted in the same call
    const [v2] = await store.save([writeOf(key, v!, s, { ...wholeState(s), before: split.parts })]);
    expect(v2).toBeGreaterThan(v!);
    expect(await redis.hlen(hashOf(keys, key))).toBe(4);
    expect((await store.load([{ kind: KIND, key }])).slices[0]!.state).toEqual(JSON.parse(JSON.stringify(s)));
  });
});
