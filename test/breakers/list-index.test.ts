import type { Cluster, Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BreakerStore } from '../../src/breakers/breaker-store.ts';
import { connectRedis, type RedisClient } from '../../src/redis/connection.ts';
import { startRedisCluster, type RedisClusterHandle } from '../helpers/redis-cluster.ts';
import { startRedisServer, type RedisServerHandle } from '../helpers/redis-server.ts';
import { sampleReason, uniqueKeys } from './helpers.ts';

const settings = { baseMs: 600_000, capMs: 600_000, jitter: 0, trials: 1, trialTimeoutMs: 1000 };

/** Calls of a command since the last CONFIG RESETSTAT, from INFO commandstats, summed over nodes. */
async function calls(nodes: Redis[], command: string): Promise<number> {
  let n = 0;
  for (const node of nodes) {
    const m = new RegExp(`^cmdstat_${command}:calls=(\\d+)`, 'm').exec(await node.info('commandstats'));
    if (m) n += Number(m[1]);
  }
  return n;
}

async function scenario(redis: RedisClient, nodes: () => Redis[]): Promise<void> {
  const keys = uniqueKeys('index');
  const store = new BreakerStore({ redis, keys });
  await store.trip('vendor', 'acme-air', { findingId: 'f_1', reason: sampleReason('f_1'), settings });
  await store.force('agent', 'travel:assistant', { mode: 'forced_open', actor: 'alice', note: 'incident', ttlMs: 60_000 });
  await store.trip('user', 'u_ø42', { findingId: 'f_2', reason: sampleReason('f_2'), settings });
  await store.reset('user', 'u_ø42', 'alice', 'false positive');
  // Unrelated keys, and a breaker of another deployment (another prefix), must not be looked at.
  const other = uniqueKeys('index-other');
  await new BreakerStore({ redis, keys: other }).trip('vendor', 'acme-air', { findingId: 'f_o', reason: sampleReason('f_o'), settings });
  for (const node of nodes()) await node.config('RESETSTAT');

  const listed = await store.list();
  expect(listed.map((b) => `${b.scope}:${b.id}:${b.status.kind}`)).toEqual(['agent:travel:assistant:forced_open', 'user:u_ø42:closed', 'vendor:acme-air:open']);
  expect((await store.list({ state: 'open' })).map((b) => b.id)).toEqual(['acme-air']);
  expect((await store.list({ scope: 'agent' })).map((b) => b.id)).toEqual(['travel:assistant']);
  expect(await calls(nodes(), 'scan'), 'listing must not SCAN').toBe(0);

  // A hash that disappears (deleted by hand) leaves a stale index entry: tolerated, and pruned.
  await redis.del(keys.breakerState('vendor', 'acme-air'));
  expect((await store.list()).map((b) => b.id)).toEqual(['travel:assistant', 'u_ø42']);
  expect((await redis.smembers(keys.breakers.index())).sort()).toEqual(['agent:travel:assistant', 'user:u_ø42']);

  // Breakers stored before the index existed (or written by hand with the scripts) come back with reindex.
  await redis.del(keys.breakers.index());
  expect(await store.list()).toEqual([]);
  expect(await store.reindex()).toBe(2);
  expect((await store.list()).map((b) => b.id)).toEqual(['travel:assistant', 'u_ø42']);
  expect((await new BreakerStore({ redis, keys: other }).list()).map((b) => b.id)).toEqual(['acme-air']);
}

describe('listing breakers reads an index, not SCAN', () => {
  let rs: RedisServerHandle;
  let redis: RedisClient;
  let cluster: RedisClusterHandle;
  let credis: RedisClient;
  beforeAll(async () => {
    [rs, cluster] = await Promise.all([startRedisServer(), startRedisCluster()]);
    redis = connectRedis({ url: rs.url, connectionName: 'test-list-index' });
    credis = connectRedis({ url: cluster.url, cluster: true, connectionName: 'test-list-index-cluster' });
  });
  afterAll(async () => {
    redis?.disconnect();
    credis?.disconnect();
    await Promise.all([rs?.stop(), cluster?.stop()]);
  });

  it('on a single Redis', async () => {
    await scenario(redis, () => [redis as Redis]);
  });

  it('on a three-master Redis Cluster (the index is in its own slot, written beside the scripts)', async () => {
    await scenario(credis, () => (credis as Cluster).nodes('master'));
  });
});
