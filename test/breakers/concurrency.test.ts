import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { connectRedis, type RedisClient } from '../../src/redis/connection.ts';
import { BreakerStore } from '../../src/breakers/breaker-store.ts';
import type { BreakerTransition } from '@vigil/breaker-client/protocol';
import { runTs } from '../helpers/child-process.ts';
import { cleanup, sampleReason, TEST_REDIS_URL, uniqueKeys } from './helpers.ts';

const WORKER = fileURLToPath(new URL('./concurrency-worker.ts', import.meta.url));
const WORKERS = 4;

/** Several processes trip, check and take half-open permits at once: no permit over-issued, no double trip. */
describe('breakers under concurrency (several processes)', () => {
  let redis: RedisClient;
  let sub: Redis;
  const keys = uniqueKeys('conc');
  const transitions: BreakerTransition[] = [];
  beforeAll(async () => {
    redis = connectRedis({ url: TEST_REDIS_URL, connectionName: 'test-breakers-conc' });
    sub = new Redis(TEST_REDIS_URL);
    sub.on('message', (_c, m) => transitions.push(JSON.parse(m)));
    await sub.subscribe(keys.breakerTransitionsChannel());
  });
  afterAll(async () => {
    await sub.quit();
    await cleanup(redis, keys);
    await redis.quit();
  });

  async function runWorkers(job: Record<string, unknown>): Promise<Record<string, number>[]> {
    const startAt = Date.now() + 1500; // time for the workers to start and connect
    const children = Array.from({ length: WORKERS }, () => runTs(WORKER, [JSON.stringify({ redisUrl: TEST_REDIS_URL, prefix: keys.prefix, startAt, ...job })], {}));
    const codes = await Promise.all(children.map((c) => c.exited));
    expect(codes, children.map((c) => c.stderr.join('')).join('\n')).toEqual(children.map(() => 0));
    return children.map((c) => c.lines[0] as Record<string, number>);
  }

  it('hands out exactly `trials` half-open permits to 4 processes × 150 simultaneous checks, and closes once', async () => {
    const store = new BreakerStore({ redis, keys });
    await store.trip('vendor', 'v-conc', { findingId: 'f_open', reason: sampleReason('f_open'), settings: { baseMs: 1000, capMs: 1000, jitter: 0, trials: 5, trialTimeoutMs: 600_000 } });
    const results = await runWorkers({ mode: 'check', checks: 150, scope: 'vendor', id: 'v-conc' });
    const sum = (k: string) => results.reduce((s, r) => s + r[k]!, 0);
    expect(sum('degraded')).toBe(0);
    expect(sum('permits')).toBe(5);
    expect(sum('allowed') + sum('denied')).toBe(WORKERS * 150);
    await new Promise((r) => setTimeout(r, 200)); // let the last pub/sub messages arrive
    const mine = transitions.filter((t) => t.scopeId === 'v-conc');
    expect(mine.map((t) => t.cause)).toEqual(['trip', 'cooldown_elapsed', 'trials_succeeded']);
    expect((await store.get('vendor', 'v-conc'))?.status.kind).toBe('closed');
  });

  it('trips once for many findings redelivered to 4 processes at once, counting each finding once', async () => {
    const findings = Array.from({ length: 25 }, (_, i) => `f_${i}`);
    const results = await runWorkers({
      mode: 'trip', findings, scope: 'agent', id: 'a-conc', settings: { baseMs: 600_000, capMs: 600_000, jitter: 0.2, trials: 1, trialTimeoutMs: 1000 },
    });
    const sum = (k: string) => results.reduce((s, r) => s + r[k]!, 0);
    expect(sum('tripped')).toBe(1);
    expect(sum('alreadyOpen')).toBe(24);
    expect(sum('duplicate')).toBe(WORKERS * 25 - 25);
    expect(sum('allowed')).toBe(0);
    await new Promise((r) => setTimeout(r, 200));
    expect(transitions.filter((t) => t.scopeId === 'a-conc').map((t) => t.cause)).toEqual(['trip']);
    const b = await new BreakerStore({ redis, keys }).get('agent', 'a-conc');
    expect(b?.findings).toBe(25);
    expect(await redis.hlen(keys.breakerFindings('agent', 'a-conc'))).toBe(25);
  });
});
