import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ValidEvent } from '../../processors/core/events.ts';
import { ANOMALY_KINDS, type Finding } from '../../processors/core/finding.ts';
import { breakerToHash, closedBreaker, type Breaker, type BreakerScope } from '../../src/breakers/state.ts';
import type { BreakerTransition } from '../../src/breakers/transition.ts';
import { BreakerStateCollector } from '../../src/observability/breaker-state-collector.ts';
import { FindingObserver } from '../../src/observability/finding-observer.ts';
import { IngestMetrics } from '../../src/observability/metrics.ts';
import { startMetricsServer } from '../../src/observability/metrics-server.ts';
import { MonitorMetrics } from '../../src/observability/monitor-metrics.ts';
import { observeHandler } from '../../src/observability/observed-handler.ts';
import { KeyBuilder } from '../../src/redis/keys.ts';
import { startRedisServer, type RedisServerHandle } from '../helpers/redis-server.ts';

const USERS = 1_000_000;
const BATCH = 5_000;
/** Breakers stored in Redis and read at scrape time (per-user breakers are counted, never listed). */
const USER_BREAKERS = 20_000;
const VENDORS = 300;
const AGENTS = 300;
const TOP_N = 20;
const PARTITIONS = 64;

const TYPES = ['intent.parsed', 'confirmation.accepted', 'stepup.passed', 'action.requested', 'action.succeeded', 'action.failed', 'compensation.succeeded', 'consent.revoked'] as const;

/** The event of user `u` (its type, risk tier and vendor vary with u), without validation (a bench-sized batch). */
function eventOf(u: number, ts: number): ValidEvent {
  const type = TYPES[u % TYPES.length]!;
  const isConsent = type === 'consent.revoked';
  return {
    eventId: `e-${u}`,
    type,
    occurredAt: new Date(ts).toISOString(),
    ts,
    userId: `u_${u}`,
    agentId: `agent-${u % AGENTS}`,
    agentVersion: '1.0.0',
    ...(isConsent ? {} : {
      intentId: `i-${u}`,
      traceId: (u.toString(16) + '0'.repeat(32)).slice(0, 32),
      attempt: 1 + (u % 3 === 0 ? 1 : 0),
      action: { name: `action-${u % 50}`, vendor: `vendor-${u % VENDORS}`, riskTier: (['low', 'medium', 'high'] as const)[u % 3]!, stateChanging: u % 2 === 0 },
    }),
    ...(type === 'compensation.succeeded' ? { compensation: { forEventId: `e-${u - 1}`, kind: 'refund' as const } } : {}),
  } as ValidEvent;
}

function breaker(scope: BreakerScope, id: string, now: number, i: number): Breaker {
  const b = closedBreaker(scope, id);
  b.trips = 1 + (i % 7);
  b.seq = b.trips;
  const reason = { ruleId: 'r', kind: 'runaway_agent', policyVersion: 'p', observed: 1, threshold: 1, findingIds: [], traceIds: [], summary: '' };
  b.status = i % 4 === 0 ? { kind: 'closed' } : i % 4 === 1 ? { kind: 'half_open', since: now - 1000, until: now + 30_000, reason, permits: 1, inflight: 0, successes: 0 } : { kind: 'open', since: now - i * 10, until: now + 600_000, reason };
  return b;
}

/**
 * "A scrape after a million-user run yields fewer than 2,000 series." What is driven, and through what:
 * a million distinct users' events (one each) through the stage wrapper `vigil run` uses (observeHandler:
 * the KPI counters and batch sizes), a user-scoped finding for every 100th user through the findings
 * counter and the finding observer (latency), a user-breaker trip for every 100th user through the
 * transition counter, 20,000 user breakers plus 300 vendor and 300 agent breakers stored in a real
 * Redis and read by the breaker collector at scrape time, and a 64-partition lag; then one real scrape
 * of the metrics server over HTTP. Kafka is not involved (the loop test covers that path).
 */
describe('metric series at a million users', () => {
  let redisServer: RedisServerHandle;
  let redis: Redis;
  beforeAll(async () => {
    redisServer = await startRedisServer();
    redis = new Redis(redisServer.url);
  }, 60_000);
  afterAll(async () => {
    redis?.disconnect();
    await redisServer?.stop();
  });

  it('stays under 2,000 series, with users counted and never labelled', async () => {
    const keys = new KeyBuilder('m');
    const [sec] = await redis.time();
    const now = Number(sec) * 1000;
    const pipe = redis.pipeline();
    // What BreakerStore does when a script creates a hash: the hash, and its member in the breaker index.
    const put = (b: Breaker) => pipe.hset(keys.breakerState(b.scope, b.id), breakerToHash(b)).sadd(keys.breakerIndex(), `${b.scope}:${b.id}`);
    for (let i = 0; i < USER_BREAKERS; i++) put(breaker('user', `u_${i * 50}`, now, i));
    for (let i = 0; i < VENDORS; i++) put(breaker('vendor', `vendor-${i}`, now, i));
    for (let i = 0; i < AGENTS; i++) put(breaker('agent', `agent-${i}`, now, i));
    await pipe.exec();

    const ingest = new IngestMetrics({ defaultMetrics: true });
    const monitor = new MonitorMetrics(ingest.registry, { redisReady: () => redis.status === 'ready' });
    const topic = 'agent.actions';
    monitor.initZero(ingest, topic);
    new BreakerStateCollector({ redis, keys, registry: ingest.registry, maxAgeMs: 0, scanLimit: 1_000_000, topN: TOP_N, maxWaitMs: 120_000 });
    const observer = new FindingObserver({ detection: monitor.detection });
    const findingsOf: Finding[][] = [];
    const handler = observeHandler(
      {
        async handle(events) {
          // What detection-wiring does with a batch's findings: count them and observe them.
          const found = findingsOf.shift() ?? [];
          for (const f of found) ingest.findings.inc({ kind: f.kind, severity: f.severity, shadow: String(f.shadow) });
          observer.published(found);
          void events;
        },
      },
      { detection: monitor.detection, pipeline: monitor.pipeline, groupId: 'g' },
    );

    const t0 = Date.now() - 3_600_000;
    for (let start = 0; start < USERS; start += BATCH) {
      const events: ValidEvent[] = [];
      const found: Finding[] = [];
      for (let u = start; u < start + BATCH; u++) {
        events.push(eventOf(u, t0 + u));
        if (u % 100 === 0) {
          const kind = ANOMALY_KINDS[(u / 100) % ANOMALY_KINDS.length]!;
          found.push({ findingId: `f-${u}`, kind, severity: 'critical', scope: { type: 'user', id: `u_${u}` }, detectedAt: new Date(t0 + u).toISOString(), eventIds: [`e-${u}`], ruleId: kind, policyVersion: 'p', shadow: u % 200 === 0, summary: '' });
          const t: BreakerTransition = {
            transitionId: `tr-${u}`, protocolVersion: 1, scope: 'user', scopeId: `u_${u}`, from: 'closed', to: 'open', cause: 'trip', at: now, until: now + 30_000,
            trips: 1, findingId: `f-${u}`, actor: null, note: null, reason: { ruleId: kind, kind, policyVersion: 'p', observed: 1, threshold: 1, findingIds: [], traceIds: [], summary: '' },
          };
          monitor.countTransition(ingest, t);
        }
      }
      findingsOf.push(found);
      await handler.handle(events, { topic, partition: (start / BATCH) % PARTITIONS, lastOffset: String(start + BATCH - 1), consumed: BATCH });
    }
    for (let p = 0; p < PARTITIONS; p++) monitor.pipeline.consumerLag.set({ topic, partition: String(p) }, p);

    const server = await startMetricsServer(ingest.registry, '127.0.0.1', 0);
    let text: string;
    try {
      text = await (await fetch(`http://127.0.0.1:${server.port}/metrics`)).text();
    } finally {
      await server.close();
    }
    const series = text.split('\n').filter((l) => l !== '' && !l.startsWith('#'));
    const value = (selector: string) => Number(series.find((l) => l.startsWith(selector + ' '))?.split(' ').at(-1));
    console.log(`series in one scrape after ${USERS.toLocaleString('en')} users: ${series.length} (${Math.round(text.length / 1024)} kB)`);

    expect(series.length).toBeLessThan(2000);
    expect(series.some((l) => /u_\d/.test(l)), 'a user id in a label').toBe(false);
    // What was driven is there, counted by bounded labels.
    expect(value('vigil_events_by_type_total{type="action.requested"}')).toBe(USERS / TYPES.length);
    const actions = series.filter((l) => l.startsWith('vigil_actions_total{')).reduce((s, l) => s + Number(l.split(' ').at(-1)), 0);
    expect(actions).toBeGreaterThan(0);
    expect(series.filter((l) => l.startsWith('vigil_findings_total{')).reduce((s, l) => s + Number(l.split(' ').at(-1)), 0)).toBe(USERS / 100);
    expect(value('vigil_breaker_transitions_total{scope="user",from="closed",to="open",cause="trip"}')).toBe(USERS / 100);
    expect(value('vigil_detection_latency_seconds_count{from="event_time"}')).toBe(USERS / 100);
    expect(value('vigil_batch_messages_count{topic="agent.actions"}')).toBe(USERS / BATCH);
    // Breakers: every user breaker counted by state, none listed; vendors and agents capped at the top N.
    const userCounted = ['closed', 'open', 'half_open'].reduce((s, st) => s + value(`vigil_breakers{scope="user",state="${st}"}`), 0);
    expect(userCounted).toBe(USER_BREAKERS);
    expect(series.filter((l) => l.startsWith('vigil_breaker_state{scope="vendor"'))).toHaveLength(TOP_N);
    expect(series.filter((l) => l.startsWith('vigil_breaker_state{scope="agent"'))).toHaveLength(TOP_N);
    expect(series.filter((l) => l.startsWith('vigil_breaker_state{scope="user"'))).toHaveLength(0);
    expect(value('vigil_breaker_series_omitted{scope="user"}')).toBe(USER_BREAKERS * 3 / 4);
    expect(value('vigil_breaker_series_omitted{scope="vendor"}')).toBe(VENDORS * 3 / 4 - TOP_N);
    expect(value('vigil_breaker_scan_truncated')).toBe(0);
    expect(series.filter((l) => l.startsWith('vigil_consumer_lag_messages{'))).toHaveLength(PARTITIONS);
  }, 180_000);
});
