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
  /** A write deadline that has not passed. */
  const FAR = Date.now() + 3_600_000;
  const extra: Record<string, { keys: (scope: string, id: string) => string[]; args: string[] }> = {
    takePermit: { keys: () => [], args: [] },
    reportTrial: { keys: () => [], args: ['1'] },
    tripBreaker: { keys: (s, i) => [keys.breakerFindings(s, i)], args: ['f_1', JSON.stringify(sampleReason('f_1')), ...settings] },
    forceOpenBreaker: { keys: (s, i) => [keys.breakerAudit(s, i)], args: ['alice', 'why', '60000', String(FAR)] },
    forceCloseBreaker: { keys: (s, i) => [keys.breakerAudit(s, i)], args: ['alice', 'why', '60000', String(FAR)] },
    resetBreaker: { keys: (s, i) => [keys.breakerAudit(s, i)], args: ['alice', 'why', String(FAR)] },
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

  const OVERRIDES = ['forceOpenBreaker', 'forceCloseBreaker', 'resetBreaker'];
  const withDeadline = (script: string, deadline: string) => [...extra[script]!.args.slice(0, -1), deadline];

  it('overrides: -4 past the write deadline (Redis TIME), changing and recording nothing; -2 for a deadline that is not a number', async () => {
    await redis.hset(keys.breakerState('vendor', 'late-air'), { v: '1', scope: 'vendor', id: 'late-air', state: 'closed', seq: '0', trips: '0', closedAt: '0', findings: '0', baseMs: '1000', capMs: '1000', jitter: '0', trials: '1', trialTimeoutMs: '1000' });
    const before = await redis.hgetall(keys.breakerState('vendor', 'late-air'));
    for (const script of OVERRIDES) {
      const argv = (d: string) => ['', keys.breakerTransitionsChannel(), 'vendor', 'late-air', ...withDeadline(script, d)];
      const k = [keys.breakerState('vendor', 'late-air'), keys.breakerAudit('vendor', 'late-air')];
      expect(await runScript(redis, script, k, argv(String(Date.now() - 1))), script).toBe(-4);
      expect(await runScript(redis, script, k, argv('')), script).toBe(-2);
      expect(await runScript(redis, script, k, argv('soon')), script).toBe(-2);
    }
    expect(await redis.hgetall(keys.breakerState('vendor', 'late-air'))).toEqual(before);
    expect(await redis.exists(keys.breakerAudit('vendor', 'late-air'))).toBe(0);
  });

  it('overrides: the time override (ARGV[1]) is what the deadline is compared with: at the deadline applied, 1 ms after refused', async () => {
    const k = [keys.breakerState('vendor', 'edge-air'), keys.breakerAudit('vendor', 'edge-air')];
    const argv = (now: number, deadline: number) => [String(now), keys.breakerTransitionsChannel(), 'vendor', 'edge-air', 'alice', 'why', '60000', String(deadline)];
    expect(await runScript(redis, 'forceOpenBreaker', k, argv(1_000_001, 1_000_000))).toBe(-4);
    const r = JSON.parse(String(await runScript(redis, 'forceOpenBreaker', k, argv(1_000_000, 1_000_000))));
    expect(r).toMatchObject({ outcome: 'forced', state: 'forced_open', until: 1_060_000 });
    expect(r.outbox).toHaveLength(1);
    const entries = await redis.xrange(k[1]!, '-', '+');
    expect(entries.map(([entryId]) => entryId)).toEqual(r.outbox);
    expect(JSON.parse(entries[0]![1][1]!)).toEqual(r.transitions[0]);
  });

  it('overrides: -2 when KEYS[2] is not this breaker\'s audit stream', async () => {
    for (const script of OVERRIDES) {
      const argv = ['', keys.breakerTransitionsChannel(), 'vendor', 'acme-air', ...extra[script]!.args];
      expect(await runScript(redis, script, [keys.breakerState('vendor', 'acme-air'), keys.breakerAudit('vendor', 'other-air')], argv), script).toBe(-2);
      expect(await runScript(redis, script, [keys.breakerState('vendor', 'acme-air'), keys.breakerState('vendor', 'acme-air')], argv), script).toBe(-2);
    }
    expect(await redis.exists(keys.breakerState('vendor', 'acme-air'))).toBe(0);
  });
});
