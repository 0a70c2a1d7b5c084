import { describe, expect, it } from 'vitest';
import type { ValidEvent } from '../core/events.ts';
import { ev } from '../../test/detection/fixtures/test-detectors.ts';
import { DEFAULT_EVENT_TIME_BOUNDS, EventTimeGuard, MAX_HELD_EVENTS, type EventTimeBounds, type GuardOutput } from './event-time-guard.ts';

const YEAR = 365 * 86_400_000;
const bounds: EventTimeBounds = { maxFutureSkewMs: 300_000, maxPastMs: 86_400_000, jumpQuorum: 3 };

/** Runs events through a guard; returns what ran (in order), what was refused (with why), and the guard. */
function judge(events: readonly ValidEvent[], b: EventTimeBounds = bounds, guard = new EventTimeGuard<number>(b)) {
  const ran: string[] = [];
  const refused: string[] = [];
  const details: string[] = [];
  const out: GuardOutput<number> = {
    accept: (e) => ran.push(e.eventId),
    refuse: (e, _p, reason, detail) => {
      refused.push(`${e.eventId} ${reason}`);
      details.push(detail);
    },
  };
  events.forEach((e, i) => guard.offer(e, i, out));
  return { ran, refused, details, guard, out };
}

/** Ordinary traffic: one event every `gapMs` from `at`, ids `<prefix><n>`. */
const traffic = (prefix: string, n: number, at = 0, gapMs = 1000) => Array.from({ length: n }, (_, i) => ev('intent.parsed', at + i * gapMs, { eventId: `${prefix}${i}` }));

describe('EventTimeGuard', () => {
  it('runs ordinary traffic as it comes, once the first events have confirmed the clock', () => {
    const events = traffic('e', 20);
    const { ran, refused } = judge(events);
    expect(refused).toEqual([]);
    expect(ran).toEqual(events.map((e) => e.eventId));
  });

  it('holds a far-future event and refuses it once later events refute it; nothing else changes', () => {
    const before = traffic('a', 10);
    const after = traffic('b', 10, 10_000);
    const hostile = ev('intent.parsed', 10 * YEAR, { eventId: 'future' });
    const { ran, refused, details, guard } = judge([...before, hostile, ...after]);
    expect(ran).toEqual([...before, ...after].map((e) => e.eventId));
    expect(refused).toEqual(['future too_far_ahead']);
    expect(details[0]).toMatch(/^occurredAt 2036-11-1\dT10:00:00.000Z is 36\d\d d \d+ h ahead of the newest event time accepted \(2026-11-20T10:00:1\d.000Z\), more than maxFutureSkewMs 300000, and 3 later events were more than that behind it$/);
    expect(guard.newest).toBe(after.at(-1)!.ts);
  });

  it('refuses a far-past event at once', () => {
    const hostile = ev('intent.parsed', -10 * YEAR, { eventId: 'past' });
    const { ran, refused, details } = judge([...traffic('a', 10), hostile, ...traffic('b', 3, 10_000)]);
    expect(refused).toEqual(['past too_far_behind']);
    expect(details[0]).toMatch(/is 36\d\d d \d+ h behind the newest event time accepted \(2026-11-20T10:00:09.000Z\), more than maxPastMs 86400000$/);
    expect(ran).toHaveLength(13);
  });

  it('moves event time over a quiet gap once enough later events confirm it, losing no event', () => {
    const day = traffic('day', 5);
    const morning = traffic('morning', 6, 10 * 3_600_000, 2000); // ten hours later
    const { ran, refused, guard } = judge([...day, ...morning]);
    expect(refused).toEqual([]);
    expect(ran).toEqual([...day, ...morning].map((e) => e.eventId));
    expect(guard.held).toEqual([]);
    // the first three morning events were held until three later ones confirmed the first
    const partial = judge([...day, ...morning.slice(0, 3)]);
    expect(partial.ran).toEqual(day.map((e) => e.eventId));
    expect(partial.guard.held.map((h) => h.event.eventId)).toEqual(['morning0', 'morning1', 'morning2']);
  });

  it('does not let a first event with a wrong clock set the clock, ahead or behind', () => {
    for (const [id, at] of [['first-future', 10 * YEAR], ['first-past', -10 * YEAR]] as const) {
      const rest = traffic('n', 8);
      const { ran, refused } = judge([ev('intent.parsed', at, { eventId: id }), ...rest]);
      expect(refused).toEqual([`${id} ${at > 0 ? 'too_far_ahead' : 'too_far_behind'}`]);
      expect(ran).toEqual(rest.map((e) => e.eventId));
    }
  });

  it('a short input starts its clock at the median of what it holds when it ends (settleBootstrap)', () => {
    const { ran, refused, guard, out } = judge([ev('intent.parsed', 10 * YEAR, { eventId: 'odd' }), ...traffic('n', 2)], { ...bounds, jumpQuorum: 10 });
    expect(ran).toEqual([]);
    guard.settleBootstrap(out);
    expect(ran).toEqual(['n0', 'n1']);
    expect(refused).toEqual([]);
    expect(guard.held.map((h) => h.event.eventId)).toEqual(['odd']);
  });

  it('catches up with a held event when the stream reaches its time', () => {
    const ahead = ev('intent.parsed', 400_000, { eventId: 'early-clock' }); // 6 min ahead of the stream
    const { ran, refused } = judge([...traffic('a', 4), ahead, ...traffic('b', 2, 150_000, 100_000)]);
    expect(refused).toEqual([]);
    expect(ran).toEqual(['a0', 'a1', 'a2', 'a3', 'b0', 'early-clock', 'b1']);
  });

  it('refuses the oldest held event when too many are held', () => {
    // a quorum larger than the hold: the clock starts from the median of a full hold, then far-ahead
    // events confirm each other too slowly to run before the hold overflows
    const many = Array.from({ length: MAX_HELD_EVENTS + 1 }, (_, i) => ev('intent.parsed', (i + 1) * 3_600_000 * 24 * 2, { eventId: `h${i}` }));
    const { ran, refused } = judge([...traffic('a', MAX_HELD_EVENTS), ...many], { ...bounds, jumpQuorum: 1000, maxPastMs: 1000 * YEAR });
    expect(ran).toHaveLength(MAX_HELD_EVENTS);
    expect(refused).toEqual(['h0 too_far_ahead']);
  });

  it('state() round-trips: a guard resumed from it judges the rest alike (live: per batch, via Redis)', () => {
    const events = [...traffic('a', 6), ev('intent.parsed', 10 * YEAR, { eventId: 'f' }), ...traffic('b', 2, 7000), ...traffic('m', 6, 5 * 3_600_000)];
    const whole = judge(events);
    const ran: string[] = [];
    const refused: string[] = [];
    let state = undefined as ReturnType<EventTimeGuard<number>['state']> | undefined;
    for (let i = 0; i < events.length; i += 4) {
      const g = new EventTimeGuard<number>(bounds, state && JSON.parse(JSON.stringify(state)));
      const out: GuardOutput<number> = { accept: (e) => ran.push(e.eventId), refuse: (e, _p, r) => refused.push(`${e.eventId} ${r}`) };
      events.slice(i, i + 4).forEach((e, j) => g.offer(e, i + j, out));
      state = g.state();
    }
    expect(ran).toEqual(whole.ran);
    expect(refused).toEqual(whole.refused);
  });

  it('has defaults an ordinary stream never trips', () => {
    expect(DEFAULT_EVENT_TIME_BOUNDS).toEqual({ maxFutureSkewMs: 300_000, maxPastMs: 86_400_000, jumpQuorum: 10 });
    const events = traffic('e', 200, 0, 700);
    expect(judge(events, DEFAULT_EVENT_TIME_BOUNDS).ran).toEqual(events.map((e) => e.eventId));
  });
});
