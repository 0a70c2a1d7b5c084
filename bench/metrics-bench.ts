/**
 * The metrics layer at a million users.
 *
 *   node bench/metrics-bench.ts [--breakers N]
 *
 * 1. The per-batch KPI count (src/observability/batch-counts.ts) against a baseline loop that only reads
 *    each event's type, on the same 5,000-event batches (the demo traffic repeated).
 * 2. The breaker collector on N stored user breakers (default 1,000,000) plus 300 vendors and agents, in
 *    a redis-server of its own: the time of one refresh (SCAN + HMGET) with the default scan limit and with
 *    no limit, against a baseline SCAN of the same keys without reading them; and the series of one
 *    real scrape of the metrics server.
 * Prints the figures and writes them to bench/results/metrics.md.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { validateEvent } from '../processors/core/validate-event.ts';
import type { ValidEvent } from '../processors/core/events.ts';
import { breakerToHash, closedBreaker, type Breaker, type BreakerScope } from '../src/breakers/state.ts';
import { countBatch } from '../src/observability/batch-counts.ts';
import { BreakerStateCollector } from '../src/observability/breaker-state-collector.ts';
import { IngestMetrics } from '../src/observability/metrics.ts';
import { startMetricsServer } from '../src/observability/metrics-server.ts';
import { MonitorMetrics } from '../src/observability/monitor-metrics.ts';
import { KeyBuilder } from '../src/redis/keys.ts';
import { startRedisServer } from '../test/helpers/redis-server.ts';

const { values } = parseArgs({ options: { breakers: { type: 'string', default: '1000000' } } });
const N = Number(values.breakers);
const lines: string[] = [];
const say = (l: string) => {
  lines.push(l);
  process.stdout.write(l + '\n');
};

// ── 1. KPI counts per batch ────────────────────────────────────────────────────────────────────────
const sample = readFileSync(new URL('../samples/demo-traffic.jsonl', import.meta.url), 'utf8').split('\n').filter(Boolean).map((l) => validateEvent(JSON.parse(l)));
const batch: ValidEvent[] = Array.from({ length: 5000 }, (_, i) => sample[i % sample.length]!);
const ROUNDS = 400;
function timed(f: () => number): { ms: number; sink: number } {
  let sink = 0;
  for (let i = 0; i < 50; i++) sink += f();
  const t = performance.now();
  for (let i = 0; i < ROUNDS; i++) sink += f();
  return { ms: performance.now() - t, sink };
}
const base = timed(() => {
  let n = 0;
  for (const e of batch) if (e.type === 'action.requested') n++;
  return n;
});
const counted = timed(() => countBatch(batch).byType['action.requested']);
const rate = (ms: number) => ((ROUNDS * batch.length) / ms) * 1000;
say(`KPI counts per batch: ${(rate(counted.ms) / 1e6).toFixed(1)} M events/s (${(counted.ms / ROUNDS).toFixed(3)} ms per 5,000-event batch); baseline (read each type) ${(rate(base.ms) / 1e6).toFixed(1)} M events/s; ratio ${(counted.ms / base.ms).toFixed(1)}x the baseline's time`);

// ── 2. Breakers at scrape time ─────────────────────────────────────────────────────────────────────
const server = await startRedisServer();
const redis = new Redis(server.url);
try {
  const keys = new KeyBuilder('bench');
  const [sec] = await redis.time();
  const now = Number(sec) * 1000;
  const reason = { ruleId: 'runaway_agent', kind: 'runaway_agent', policyVersion: 'p', observed: 21, threshold: 20, findingIds: ['f'], traceIds: [], summary: '' };
  const make = (scope: BreakerScope, id: string, i: number): Breaker => {
    const b = closedBreaker(scope, id);
    b.trips = 1 + (i % 5);
    b.status = i % 3 === 0 ? { kind: 'closed' } : { kind: 'open', since: now - (i % 1000) * 1000, until: now + 600_000, reason };
    return b;
  };
  const loadStart = performance.now();
  for (let start = 0; start < N; start += 10_000) {
    const p = redis.pipeline();
    for (let i = start; i < Math.min(N, start + 10_000); i++) {
      const b = make('user', `u_${i}`, i);
      p.hset(keys.breakerState(b.scope, b.id), breakerToHash(b)).sadd(keys.breakerIndex(), `${b.scope}:${b.id}`);
    }
    await p.exec();
  }
  const p = redis.pipeline();
  for (let i = 0; i < 300; i++) for (const scope of ['vendor', 'agent'] as const) {
    const b = make(scope, `${scope}-${i}`, i);
    p.hset(keys.breakerState(b.scope, b.id), breakerToHash(b)).sadd(keys.breakerIndex(), `${b.scope}:${b.id}`);
  }
  await p.exec();
  say(`stored ${N.toLocaleString('en')} user breakers + 600 vendor/agent breakers in ${((performance.now() - loadStart) / 1000).toFixed(1)} s`);

  // Baseline: SCAN the breaker pattern without reading the hashes (what the collector did before the index).
  let t = performance.now();
  let cursor = '0';
  let found = 0;
  do {
    const [next, ks] = await redis.scan(cursor, 'MATCH', keys.breakerStatePattern(), 'COUNT', 1000);
    cursor = next;
    found += ks.length;
  } while (cursor !== '0');
  const scanMs = performance.now() - t;
  say(`baseline SCAN of ${found.toLocaleString('en')} breaker keys: ${(scanMs / 1000).toFixed(2)} s`);

  for (const limit of [100_000, N + 1000]) {
    const ingest = new IngestMetrics({ defaultMetrics: true });
    const monitor = new MonitorMetrics(ingest.registry, { redisReady: () => redis.status === 'ready' });
    monitor.initZero(ingest, 'agent.actions');
    const collector = new BreakerStateCollector({ redis, keys, registry: ingest.registry, maxAgeMs: 0, scanLimit: limit, topN: 20, maxWaitMs: 600_000 });
    const metricsServer = await startMetricsServer(ingest.registry, '127.0.0.1', 0);
    try {
      t = performance.now();
      const text = await (await fetch(`http://127.0.0.1:${metricsServer.port}/metrics`)).text();
      const ms = performance.now() - t;
      const series = text.split('\n').filter((l) => l && !l.startsWith('#'));
      const open = Number(series.find((l) => l.startsWith('vigil_breakers{scope="user",state="open"}'))?.split(' ')[1]);
      const truncated = series.find((l) => l.startsWith('vigil_breaker_scan_truncated'))?.split(' ')[1];
      say(`scrape with scan limit ${limit.toLocaleString('en')}: ${(ms / 1000).toFixed(2)} s (${(ms / scanMs).toFixed(1)}x the baseline SCAN), ${series.length} series, ${open.toLocaleString('en')} open user breakers counted, truncated=${truncated}${collector.error ? `, error: ${String(collector.error)}` : ''}`);
    } finally {
      await metricsServer.close();
    }
  }
} finally {
  redis.disconnect();
  await server.stop();
}

const header = `# metrics bench (node bench/metrics-bench.ts --breakers ${N})\n\n${new Date().toISOString().slice(0, 10)}, ${cpus().length} cores, load average ${loadavg().map((x) => x.toFixed(2)).join(' ')}\n\n`;
mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
writeFileSync(new URL('./results/metrics.md', import.meta.url), header + lines.map((l) => `- ${l}`).join('\n') + '\n');
