import type { Cluster, Redis } from 'ioredis';
import { Gauge, type Registry } from 'prom-client';
import { evaluate } from '../breakers/check.ts';
import { BREAKER_SCOPES, BREAKER_STATES, type BreakerScope, type BreakerStateName } from '../breakers/state.ts';
import { settlesWithin } from '../errors/timeout.ts';
import { isCluster, type RedisClient } from '../redis/connection.ts';
import type { KeyBuilder } from '../redis/keys.ts';

/** The value of `vigil_breaker_state{scope,id}`: which non-closed state the breaker is in. */
export const STATE_CODES: Record<Exclude<BreakerStateName, 'closed'>, number> = { open: 1, half_open: 2, forced_open: 3, forced_closed: 4 };

/** Scopes that get one series per breaker (capped); `user` never does (a million users, a million series). */
export const PER_ID_SCOPES: readonly BreakerScope[] = ['global', 'vendor', 'agent', 'action'];

/** One breaker as the collector read it. */
export interface BreakerReading {
  scope: BreakerScope;
  id: string;
  /** What a check sees now (an open breaker past its cool-down reads half_open). */
  state: BreakerStateName;
  /** Epoch ms the current state began (0 for closed). */
  since: number;
  trips: number;
}

/** What one refresh found, reduced to bounded sets. */
export interface BreakerSnapshot {
  counts: Record<BreakerScope, Record<BreakerStateName, number>>;
  /** Per scope in PER_ID_SCOPES: the top N breakers not closed (most trips, then longest in their state). */
  top: BreakerReading[];
  /** Breakers not closed that got no per-id series because of the cap, per scope (user: all of them). */
  omitted: Record<BreakerScope, number>;
  maxTrips: Record<BreakerScope, number>;
  /** The longest time a breaker of the scope has been in its current non-closed state (s). */
  longestNotClosedSeconds: Record<BreakerScope, number>;
  read: number;
  truncated: boolean;
  durationSeconds: number;
}

function perScope<T>(make: () => T): Record<BreakerScope, T> {
  const r = {} as Record<BreakerScope, T>;
  for (const s of BREAKER_SCOPES) r[s] = make();
  return r;
}

/** Reduces readings to the snapshot's bounded sets (pure). */
export function summarize(readings: readonly BreakerReading[], now: number, topN: number): Omit<BreakerSnapshot, 'read' | 'truncated' | 'durationSeconds'> {
  const counts = perScope(() => {
    const c = {} as Record<BreakerStateName, number>;
    for (const st of BREAKER_STATES) c[st] = 0;
    return c;
  });
  const omitted = perScope(() => 0);
  const maxTrips = perScope(() => 0);
  const longest = perScope(() => 0);
  const candidates = perScope<BreakerReading[]>(() => []);
  for (const b of readings) {
    counts[b.scope][b.state]++;
    if (b.state === 'closed') continue;
    if (b.trips > maxTrips[b.scope]) maxTrips[b.scope] = b.trips;
    if (b.state !== 'forced_closed' && b.since > 0) longest[b.scope] = Math.max(longest[b.scope], Math.max(0, now - b.since) / 1000);
    candidates[b.scope].push(b);
  }
  const top: BreakerReading[] = [];
  for (const s of BREAKER_SCOPES) {
    const list = candidates[s];
    if (!PER_ID_SCOPES.includes(s)) {
      omitted[s] = list.length;
      continue;
    }
    list.sort((a, b) => b.trips - a.trips || a.since - b.since || a.id.localeCompare(b.id));
    top.push(...list.slice(0, topN));
    omitted[s] = Math.max(0, list.length - topN);
  }
  return { counts, top, omitted, maxTrips, longestNotClosedSeconds: longest };
}

export interface BreakerStateCollectorOptions {
  redis: RedisClient;
  keys: KeyBuilder;
  registry: Registry;
  /** A scrape reuses a snapshot younger than this. */
  maxAgeMs: number;
  /** Breakers read per refresh at most. */
  scanLimit: number;
  /** Per-id series per scope in PER_ID_SCOPES. */
  topN: number;
  /** How long a scrape waits for a refresh before it serves the previous snapshot (default 3 s). */
  maxWaitMs?: number;
}

const FIELDS = ['scope', 'id', 'state', 'until', 'permits', 'since', 'trips', 'v'] as const;

/**
 * Breaker state read from Redis at scrape time, through prom-client `collect()`: counts by scope type
 * and state (never one series per user), one series per vendor, agent, action or global breaker that is
 * not closed (capped at the top N per scope type), and what the cap left out. A scrape reuses a snapshot
 * younger than maxAgeMs, and concurrent scrapes share one refresh (single-flight).
 *
 * The read is an SSCAN of the breaker index plus one HMGET per breaker (auto-pipelined), up to
 * scanLimit breakers; `vigil_breaker_scan_truncated` says when the counts are a lower bound.
 */
export class BreakerStateCollector {
  private readonly o: BreakerStateCollectorOptions;
  private snapshot: BreakerSnapshot | undefined;
  private takenAt = 0;
  private refreshing: Promise<void> | undefined;
  private refreshingSince = 0;
  private lastError: unknown;

  constructor(opts: BreakerStateCollectorOptions) {
    this.o = opts;
    const self = this;
    const r = [opts.registry];
    const gauge = <L extends string>(name: string, help: string, labelNames: readonly L[], fill: (g: Gauge<L>, s: BreakerSnapshot) => void) =>
      new Gauge<L>({
        name,
        help,
        labelNames,
        registers: r,
        async collect() {
          const s = await self.current();
          this.reset();
          if (s) fill(this, s);
        },
      });
    gauge('vigil_breakers', 'Circuit breakers stored in Redis, by scope type and effective state (what a check sees now), read at scrape time.', ['scope', 'state'], (g, s) => {
      for (const sc of BREAKER_SCOPES) for (const st of BREAKER_STATES) g.set({ scope: sc, state: st }, s.counts[sc][st]);
    });
    gauge('vigil_breaker_state', 'One series per breaker that is not closed, for scope types global, vendor, agent and action (never user), capped per scope type; value: 1 open, 2 half_open, 3 forced_open, 4 forced_closed.', ['scope', 'id'], (g, s) => {
      for (const b of s.top) g.set({ scope: b.scope, id: b.id }, STATE_CODES[b.state as keyof typeof STATE_CODES]);
    });
    gauge('vigil_breaker_trips', 'Consecutive trips of each breaker that has a vigil_breaker_state series.', ['scope', 'id'], (g, s) => {
      for (const b of s.top) g.set({ scope: b.scope, id: b.id }, b.trips);
    });
    gauge('vigil_breaker_series_omitted', 'Breakers not closed that have no per-id series (the cap; every user breaker), by scope type.', ['scope'], (g, s) => {
      for (const sc of BREAKER_SCOPES) g.set({ scope: sc }, s.omitted[sc]);
    });
    gauge('vigil_breaker_max_trips', 'The most consecutive trips among the breakers of a scope type that are not closed.', ['scope'], (g, s) => {
      for (const sc of BREAKER_SCOPES) g.set({ scope: sc }, s.maxTrips[sc]);
    });
    gauge('vigil_breaker_longest_open_seconds', 'The longest time a breaker of the scope type has been in its current open, half_open or forced_open state.', ['scope'], (g, s) => {
      for (const sc of BREAKER_SCOPES) g.set({ scope: sc }, s.longestNotClosedSeconds[sc]);
    });
    gauge('vigil_breaker_scan_truncated', '1 when the last breaker read stopped at the scan limit (the counts are then a lower bound).', [], (g, s) => g.set(s.truncated ? 1 : 0));
    gauge('vigil_breaker_scan_duration_seconds', 'How long the last breaker read took.', [], (g, s) => g.set(s.durationSeconds));
  }

  /** The last error of a refresh, if the latest one failed. */
  get error(): unknown {
    return this.lastError;
  }

  /**
   * The snapshot to serve: a fresh one when the cached one is older than maxAgeMs (waiting at most
   * maxWaitMs). A refresh already in flight for longer than that (Redis down: its commands wait for the
   * reconnection) is not waited for again: every scrape would otherwise take maxWaitMs for as long as
   * Redis is away, and a scraper with a shorter timeout would see no metrics at all, vigil_dependency_up
   * included (the chaos suite's long Redis outage did).
   */
  async current(): Promise<BreakerSnapshot | undefined> {
    if (this.snapshot === undefined || Date.now() - this.takenAt >= this.o.maxAgeMs) {
      const maxWaitMs = this.o.maxWaitMs ?? 3000;
      if (this.refreshing === undefined) {
        this.refreshingSince = Date.now();
        this.refreshing = this.refresh().finally(() => {
          this.refreshing = undefined;
        });
      }
      const waited = Date.now() - this.refreshingSince;
      if (waited < maxWaitMs) await settlesWithin(this.refreshing, maxWaitMs - waited);
    }
    return this.snapshot;
  }

  private async refresh(): Promise<void> {
    const started = performance.now();
    try {
      const { readings, truncated, now } = await this.readAll();
      this.snapshot = { ...summarize(readings, now, this.o.topN), read: readings.length, truncated, durationSeconds: (performance.now() - started) / 1000 };
      this.takenAt = Date.now();
      this.lastError = undefined;
    } catch (e) {
      // Keep serving the last snapshot; a scrape must not fail because Redis is down (vigil_redis_up says so).
      this.lastError = e;
    }
  }

  private async readAll(): Promise<{ readings: BreakerReading[]; truncated: boolean; now: number }> {
    const { redis, keys, scanLimit } = this.o;
    const cluster = isCluster(redis);
    const [sec, usec] = await (cluster ? (redis as Cluster).nodes('master')[0]! : (redis as Redis)).time();
    const now = Number(sec) * 1000 + Math.floor(Number(usec) / 1000);
    const readings: BreakerReading[] = [];
    let truncated = false;
    // The breaker index (one set, `<prefix>:brk:index`, kept beside every script that creates a hash)
    // names every stored breaker: SSCAN it instead of SCANning the whole keyspace.
    let cursor = '0';
    do {
      const [next, members] = await redis.sscan(keys.breakerIndex(), cursor, 'COUNT', 1000);
      cursor = next;
      const room = scanLimit - readings.length;
      const take = members.length > room ? members.slice(0, room) : members;
      if (take.length < members.length) truncated = true;
      const refs = take.flatMap((m) => {
        const i = m.indexOf(':');
        return i > 0 ? [{ scope: m.slice(0, i), id: m.slice(i + 1) }] : [];
      });
      const replies = await Promise.all(refs.map((r) => redis.hmget(keys.breakerState(r.scope, r.id), ...FIELDS)));
      for (const r of replies) {
        const [scope, id, state, until, permits, since, trips, version] = r;
        if (!scope || !id || !(BREAKER_SCOPES as readonly string[]).includes(scope)) continue;
        const f = { v: version ?? undefined, state: state ?? undefined, until: until ?? undefined, permits: permits ?? undefined, since: since ?? undefined };
        const v = evaluate(f, now);
        const effective = v.kind === 'probe' ? 'half_open' : v.state;
        // A hash of another protocol version or an unknown state is not counted (checks deny on it).
        if (effective === 'unknown') continue;
        readings.push({ scope: scope as BreakerScope, id, state: effective, since: Number(since ?? 0) || 0, trips: Number(trips ?? 0) || 0 });
      }
      if (readings.length >= scanLimit && cursor !== '0') truncated = true;
    } while (cursor !== '0' && !truncated);
    return { readings, truncated, now };
  }
}
