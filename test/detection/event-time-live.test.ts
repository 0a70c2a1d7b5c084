import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALL_DETECTORS } from '../../processors/registry.ts';
import { createDetectionHandler, type DetectionHandlerOptions, type WatermarkStatus } from '../../src/detection/detection-handler.ts';
import { defaultPolicy } from '../../src/policy/load-policy.ts';
import { connectRedis, type RedisClient } from '../../src/redis/connection.ts';
import { KeyBuilder } from '../../src/redis/keys.ts';
import { randomName, waitFor } from '../helpers/wait.ts';
import { MemorySink } from './fixtures/live-helpers.ts';
import { brief, deadLetters, feed, partitionOf, replayOf, traffic, withClock } from './fixtures/partitioned-traffic.ts';
import { deleteKeys } from '../helpers/redis-server.ts';

let redis: RedisClient;
const prefixes: string[] = [];
const policy = defaultPolicy({ detectors: ALL_DETECTORS });
const TEN_YEARS = 3652 * 86_400_000;
/** Short enough for a test, long enough that feeding the traffic takes less on a loaded machine. */
const IDLE_MS = 4000;

beforeAll(() => {
  redis = connectRedis({ url: 'redis://127.0.0.1:6379', connectionName: 'vigil-event-time-test' });
});
afterAll(async () => {
  for (const p of prefixes) await deleteKeys(redis, `${p}:*`);
  redis.disconnect();
});

function handler(extra: Partial<DetectionHandlerOptions> = {}) {
  const prefix = randomName('vigil-test-et');
  prefixes.push(prefix);
  const sink = new MemorySink();
  const dlq = deadLetters();
  const h = createDetectionHandler({ redis, keys: new KeyBuilder(prefix), policy, detectors: ALL_DETECTORS, sink, idlePartitionMs: IDLE_MS, deadLetter: dlq.deadLetter, ...extra });
  return { h, sink, dlq };
}

/** Ticks the live engine (as `vigil run` does every second) until `done`, or fails after `timeoutMs`. */
async function tickUntil(h: ReturnType<typeof handler>['h'], done: (s: WatermarkStatus[]) => boolean, description: string, timeoutMs = 30_000) {
  await waitFor(async () => done(await h.tick()) || undefined, { timeoutMs, intervalMs: 250, description });
}

const base = traffic(10_000, 21, 1);

describe('event time, live (Redis) and vigil replay alike', () => {
  it('a partition that never receives an event holds nothing back after the idle time: the findings come with no event on it, equal to replay', async () => {
    const { h, sink } = handler({ expectedPartitions: 4 });
    // the topic has four partitions; the traffic lands on 0–2 only, and all of it is consumed at once
    await feed(h, base, { partitions: 4, used: 3 });
    const want = replayOf(base, policy.rules);
    expect(want.findings.length).toBeGreaterThan(10);
    await tickUntil(h, () => sink.byId.size >= want.findings.length, 'the findings without any event on partition 3');
    expect(brief(sink.sorted())).toEqual(brief(want.findings));
    expect((await h.tick())[0]!.combined.partitions.map((p) => p.state).at(-1)).toBe('never_spoke');
    await tickUntil(h, ([s]) => s!.combined.idle === 4, 'every partition idle');
    const status = (await h.tick())[0]!;
    expect(status.combined.partitions.map((p) => p.state)).toEqual(['idle', 'idle', 'idle', 'never_spoke']);
    expect(status.reason).toMatch(/^no traffic: every partition has been quiet/);
    expect(brief(sink.sorted())).toEqual(brief(want.findings));
    // what replay leaves undecided is still pending live, waiting for more events
    const pending = Object.values(await h.pendingByKind(-Infinity)).reduce((a, b) => a + b, 0);
    expect(pending).toBeGreaterThanOrEqual(want.undecided.length);
  }, 90_000);

  it('a partition that goes quiet stops holding the others back; once all are quiet, live equals replay', async () => {
    const { h, sink } = handler({ expectedPartitions: 3 });
    const cut = Math.floor(base.length * 0.7);
    // partitions 1 and 2 fall silent after 70% of the traffic; partition 0 gets the rest
    await feed(h, base.slice(0, cut), { partitions: 3 });
    // (only partition 0's users: the input is keyed by userId, so a user's events never change partition)
    const rest = base.slice(cut).filter((e) => partitionOf(e, 3) === 0);
    for (let i = 0; i < rest.length; i += 200) await h.handle(rest.slice(i, i + 200), { topic: 'agent.actions', partition: 0, lastOffset: String(i) });
    const want = replayOf([...base.slice(0, cut), ...rest], policy.rules);
    await tickUntil(h, () => sink.byId.size >= want.findings.length, 'the findings once the quiet partitions are idle');
    expect(brief(sink.sorted())).toEqual(brief(want.findings));
  }, 90_000);

  it('refuses a far-future and a far-past event live (dead letters) and in replay (reports), with the same findings as without them', async () => {
    const at = Math.floor(base.length / 3);
    const hostile = [...base];
    hostile.splice(2 * at, 0, withClock(base[2 * at]!, -TEN_YEARS, 'hostile-past'));
    hostile.splice(at, 0, withClock(base[at]!, TEN_YEARS, 'hostile-future'));
    const { h, sink, dlq } = handler({ expectedPartitions: 3 });
    await feed(h, hostile, { partitions: 3 });
    const clean = replayOf(base, policy.rules);
    const want = replayOf(hostile, policy.rules);
    expect(want.refused).toEqual(['hostile-future too_far_ahead', 'hostile-past too_far_behind']);
    expect(brief(want.findings)).toEqual(brief(clean.findings));
    await tickUntil(h, () => sink.byId.size >= want.findings.length && dlq.refused.length >= 2, 'the findings and both dead letters');
    expect(brief(sink.sorted())).toEqual(brief(want.findings));
    expect(dlq.ids()).toEqual(want.refused);
    expect(dlq.refused.find((r) => r.eventId === 'hostile-future')!.detail).toMatch(/is 36\d\d d \d+ h ahead of the newest event time accepted .*, and 10 later events were more than that behind it$/);
    expect(h.stats.outOfBounds).toBe(2);
  }, 90_000);

  it('an export cut mid-window: what is not due by its end is undecided in replay and pending live, never a finding', async () => {
    // the first hour of the traffic, cut wherever the hour ends
    const hour = base.filter((e) => e.ts < base[0]!.ts + 3_600_000);
    const want = replayOf(hour, policy.rules);
    expect(hour.length).toBeLessThan(base.length);
    expect(want.undecided.map((f) => f.kind)).toContain('orphaned_action');
    const { h, sink } = handler({ expectedPartitions: 3 });
    await feed(h, hour, { partitions: 3 });
    await tickUntil(h, () => sink.byId.size >= want.findings.length, 'the findings of the cut export');
    // a few more ticks: nothing else may settle
    for (let i = 0; i < 3; i++) await h.tick();
    expect(brief(sink.sorted())).toEqual(brief(want.findings));
    const undecidedIds = new Set(want.undecided.map((f) => f.findingId));
    expect(sink.sorted().filter((f) => undecidedIds.has(f.findingId))).toEqual([]);
  }, 90_000);

  it('events held before the stream has a clock run once another partition starts it, or once their partition is quiet', async () => {
    const { h, sink } = handler({ expectedPartitions: 2 });
    const early = base.slice(0, 2); // too few to start the clock: held
    await h.handle(early, { topic: 'agent.actions', partition: 1, lastOffset: '1' });
    expect(h.stats.events).toBe(2);
    expect((await h.tick())[0]!.held).toBe(2);
    // partition 0 starts the clock; the next tick runs partition 1's held events against it
    await h.handle(base.slice(2, 200), { topic: 'agent.actions', partition: 0, lastOffset: '1' });
    await tickUntil(h, ([s]) => s!.held === 0, 'the held events to run');
    const newestRun = async (prefix: string, partition: number) => Number((await redis.hget(`${prefix}:ds:{ds:wm}:watermarks`, `agent.actions/${partition}`))!.split('|')[2]);
    const first = prefixes.at(-1)!;
    expect(await newestRun(first, 1)).toBe(Math.max(early[0]!.ts, early[1]!.ts));
    expect(await redis.exists(`${first}:ds:{ds:wm}:held:agent.actions/1`)).toBe(0);

    // a lone partition whose first two events never see another: they run once it has been quiet for the idle time
    const lone = handler({ expectedPartitions: 1 });
    await lone.h.handle(early, { topic: 'agent.actions', partition: 0, lastOffset: '1' });
    expect((await lone.h.tick())[0]!.held).toBe(2);
    await tickUntil(lone.h, ([s]) => s!.held === 0, 'the lone held events to run after the idle time');
    expect(await newestRun(prefixes.at(-1)!, 0)).toBe(Math.max(early[0]!.ts, early[1]!.ts));
  }, 90_000);
});
