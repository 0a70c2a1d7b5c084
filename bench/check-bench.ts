/**
 * check() latency and throughput from one client process, with and without the local cache.
 *
 *   node bench/check-bench.ts [--checks N] [--concurrency C]
 *
 * Redis: config redis.url (REDIS_URL, default 127.0.0.1:6379), under a throwaway key prefix.
 * Each check consults five scopes (global, vendor, agent, user, action); a few other breakers are open.
 * Baseline, measured in the same run: one awaited Redis PING (the floor of any round trip).
 * Targets (issue 4): p99 ≤ 1 ms on loopback; ≥ 20,000 checks/s with the cache, ≥ 5,000 without.
 * Prints the figures and writes them to bench/results/check.md.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { BreakerStore } from '../src/breakers/breaker-store.ts';
import { createBreakerClient, type BreakerClient } from '@vigil/breaker-client';
import { loadConfig } from '../src/config/config.ts';
import { connectRedis } from '../src/redis/connection.ts';
import { KeyBuilder } from '../src/redis/keys.ts';

const { values } = parseArgs({ options: { checks: { type: 'string', default: '20000' }, concurrency: { type: 'string', default: '32' } } });
const N = Number(values.checks);
const C = Number(values.concurrency);
const config = loadConfig();
const keys = new KeyBuilder(`bench-check-${randomBytes(4).toString('hex')}`);
const redis = connectRedis({ url: config.redis.url, cluster: config.redis.cluster, connectionName: 'vigil-bench-check' });
const store = new BreakerStore({ redis, keys });

const q = (i: number) => ({ vendor: 'acme-air', agent: 'travel-assistant', user: `u_${i % 1000}`, action: 'flight.book' });

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function sequential(name: string, n: number, f: (i: number) => Promise<unknown>) {
  for (let i = 0; i < Math.min(2000, n); i++) await f(i); // warm-up (JIT, connections, cache)
  const lat = new Array<number>(n);
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) {
    const s = process.hrtime.bigint();
    await f(i);
    lat[i] = Number(process.hrtime.bigint() - s) / 1e6;
  }
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  lat.sort((a, b) => a - b);
  return { name, p50: pct(lat, 50), p99: pct(lat, 99), max: lat[lat.length - 1]!, perSec: n / secs };
}

async function concurrent(n: number, c: number, f: (i: number) => Promise<unknown>): Promise<number> {
  let next = 0;
  const t0 = process.hrtime.bigint();
  await Promise.all(Array.from({ length: c }, async () => {
    while (next < n) await f(next++);
  }));
  return n / (Number(process.hrtime.bigint() - t0) / 1e9);
}

async function main(): Promise<void> {
  // A few open breakers that the benchmarked checks do not touch, one that they do touch is closed.
  for (const v of ['down-air', 'slow-air', 'broken-air']) {
    await store.trip('vendor', v, { findingId: `f_${v}`, reason: { ruleId: 'vendor_failure_rate', kind: 'vendor_failure_rate', policyVersion: 'bench', observed: 0.9, threshold: 0.5, findingIds: [`f_${v}`], traceIds: [], summary: 'bench' }, settings: { baseMs: 600_000, capMs: 600_000, jitter: 0, trials: 1, trialTimeoutMs: 1000 } });
  }
  const make = (cache: boolean): BreakerClient => createBreakerClient({ redisUrl: config.redis.url, cluster: config.redis.cluster, keyPrefix: keys.prefix, failMode: { default: 'open' }, cache, timeoutMs: 1000 });
  const plain = make(false);
  const cached = make(true);
  await plain.ready();
  await cached.ready();
  const check = (c: BreakerClient) => async (i: number) => {
    const a = await c.check(q(i));
    if (!a.allowed || a.degraded) throw new Error(`unexpected answer ${JSON.stringify(a)}`);
  };
  const rows = [];
  rows.push(await sequential('Redis PING (baseline)', N, () => redis.ping()));
  rows.push(await sequential('check(), no cache', N, check(plain)));
  rows.push(await sequential('check(), cache', N, check(cached)));
  const conc = {
    ping: await concurrent(N, C, () => redis.ping()),
    plain: await concurrent(N, C, check(plain)),
    cached: await concurrent(N, C, check(cached)),
  };
  const denied = await plain.check({ vendor: 'down-air' });
  if (denied.allowed) throw new Error('the open vendor was not denied');
  await plain.close();
  await cached.close();
  const base = rows[0]!;
  const fmt = (x: number) => x.toFixed(3);
  const table = [
    '| what | p50 ms | p99 ms | max ms | sequential /s | ' + `${C} in flight /s | p99 vs PING |`,
    '|---|---:|---:|---:|---:|---:|---:|',
    ...rows.map((r, i) => `| ${r.name} | ${fmt(r.p50)} | ${fmt(r.p99)} | ${fmt(r.max)} | ${Math.round(r.perSec)} | ${Math.round([conc.ping, conc.plain, conc.cached][i]!)} | ${(r.p99 / base.p99).toFixed(2)}× |`),
  ].join('\n');
  const plainRow = rows[1]!, cachedRow = rows[2]!;
  const verdict = [
    `- p99 ≤ 1 ms: no cache ${fmt(plainRow.p99)} ms ${plainRow.p99 <= 1 ? 'MET' : 'MISSED'}; cache ${fmt(cachedRow.p99)} ms ${cachedRow.p99 <= 1 ? 'MET' : 'MISSED'}`,
    `- ≥ 20,000 checks/s with the cache: ${Math.round(Math.max(cachedRow.perSec, conc.cached))} ${Math.max(cachedRow.perSec, conc.cached) >= 20_000 ? 'MET' : 'MISSED'}`,
    `- ≥ 5,000 checks/s without: ${Math.round(Math.max(plainRow.perSec, conc.plain))} ${Math.max(plainRow.perSec, conc.plain) >= 5_000 ? 'MET' : 'MISSED'}`,
  ].join('\n');
  const md = `# check() benchmark

\`node bench/check-bench.ts --checks ${N} --concurrency ${C}\` — ${new Date().toISOString()}, Node ${process.version},
${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, load average ${loadavg().map((l) => l.toFixed(2)).join(' ')} (a shared machine),
Redis ${config.redis.url}${config.redis.cluster ? ' (cluster)' : ''}. One client process; each check consults five scopes
(global, vendor, agent, user, action: without the cache, one round trip of 5 HMGET, plus TIME once a second to track the Redis clock).
Latency: ${N} checks awaited one after another. Throughput: the same sequentially, and with ${C} checks in flight.

${table}

${verdict}
`;
  process.stdout.write(md);
  mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
  writeFileSync(new URL('./results/check.md', import.meta.url), md);
}

try {
  await main();
} finally {
  const nodes = 'isCluster' in redis && redis.isCluster ? (redis as import('ioredis').Cluster).nodes('master') : [redis as import('ioredis').Redis];
  for (const node of nodes) {
    const found = await node.keys(`${keys.prefix}:*`);
    if (found.length) await node.del(...found);
  }
  redis.disconnect();
}
