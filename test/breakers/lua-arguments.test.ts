import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectRedis, type RedisClient } from '../../src/redis/connection.ts';
import { runScript } from '../../src/redis/scripts.ts';
import { cleanup, sampleReason, TEST_REDIS_URL, uniqueKeys } from './helpers.ts';

/**
 * The breaker scripts are the protocol's write path for every language: they refuse what a foreign
 * client might get wrong (a scope that does not exist, an id the key does not carry) with -2, and a hash
 * they cannot read (an unknown state) with -1, writing nothing.
 */
describe('breaker scripts refuse bad arguments and unknown states', () => {
  let redis: RedisClient;
  const keys = uniqueKeys('lua-args');
  beforeAll(() => {
    redis = connectRedis({ url: TEST_REDIS_URL, connectionName: 'test-lua-args' });
  });
  afterAll(async () => {
    await cleanup(redis, keys);
    await redis.quit();
  });

  const settings = ['1000', '1000', '0', '1', '1000'];
  const extra: Record<string, { keys: (scope: string, id: string) => string[]; args: string[] }> = {
    takePermit: { keys: () => [], args: [] },
    reportTrial: { keys: () => [], args: ['1'] },
    tripBreaker: { keys: (s, i) => [keys.breakerFindings(s, i)], args: ['f_1', JSON.stringify(sampleReason('f_1')), ...settings] },
    forceOpenBreaker: { keys: () => [], args: ['alice', 'why', '60000'] },
    forceCloseBreaker: { keys: () => [], args: ['alice', 'why', '60000'] },
    resetBreaker: { keys: () => [], args: ['alice', 'why'] },
  };
  const run = (script: string, keyScope: string, keyId: string, scope: string, id: string) =>
    runScript(redis, script, [keys.breakerState(keyScope, keyId), ...extra[script]!.keys(keyScope, keyId)], ['', keys.breakerTransitionsChannel(), scope, id, ...extra[script]!.args]);

  it('-2 for a scope that does not exist (planet), for every script, and write nothing', async () => {
    for (const script of Object.keys(extra)) {
      expect(await run(script, 'planet', 'mars', 'planet', 'mars'), script).toBe(-2);
      expect(await redis.exists(keys.breakerState('planet', 'mars')), script).toBe(0);
    }
  });

  it('-2 when ARGV scope and id are not the ones in the key, or the id breaks the id rules', async () => {
    for (const script of Object.keys(extra)) {
      expect(await run(script, 'vendor', 'acme-air', 'vendor', 'other-air'), script).toBe(-2);
      expect(await run(script, 'vendor', 'acme-air', 'agent', 'acme-air'), script).toBe(-2);
      expect(await run(script, 'vendor', 'acme air', 'vendor', 'acme air'), script).toBe(-2);
      expect(await run(script, 'vendor', '', 'vendor', ''), script).toBe(-2);
      expect(await run(script, 'global', 'everything', 'global', 'everything'), script).toBe(-2);
    }
    expect(await redis.exists(keys.breakerState('vendor', 'acme-air'), keys.breakerState('vendor', 'other-air'))).toBe(0);
  });

  it('-1 for a hash in a state v1 does not know, from every script (reset too: a person DELs such a hash), and it stays as it was', async () => {
    await redis.hset(keys.breakerState('vendor', 'ajar-air'), { v: '1', scope: 'vendor', id: 'ajar-air', state: 'ajar', until: '0', trials: '3', successes: '0' });
    for (const script of Object.keys(extra)) {
      expect(await run(script, 'vendor', 'ajar-air', 'vendor', 'ajar-air'), script).toBe(-1);
    }
    expect(await redis.hgetall(keys.breakerState('vendor', 'ajar-air'))).toMatchObject({ state: 'ajar', until: '0' });
  });

  it('accepts the ids of the protocol: ":" and unicode, global all', async () => {
    expect(JSON.parse(String(await run('takePermit', 'agent', 'travel:assistant', 'agent', 'travel:assistant')))).toMatchObject({ outcome: 'allowed' });
    expect(JSON.parse(String(await run('takePermit', 'user', 'u_ø42', 'user', 'u_ø42')))).toMatchObject({ outcome: 'allowed' });
    expect(JSON.parse(String(await run('takePermit', 'global', 'all', 'global', 'all')))).toMatchObject({ outcome: 'allowed' });
  });
});
