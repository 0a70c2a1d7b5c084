import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBreakerClient, type BreakerClient } from '../src/index.ts';
import { stackEndpoints } from '../../../test/helpers/stack-env.ts';
import { randomName } from '../../../test/helpers/wait.ts';

/**
 * A hash of a protocol version this client does not speak, or with a state v1 does not know, must be
 * read as denying (docs/breaker-protocol.md) — with Redis reachable, so never as a degraded answer.
 */
describe('check() meets an unknown protocol version or state', () => {
  let redis: Redis;
  let client: BreakerClient;
  const prefix = randomName('t-proto');
  const key = (scope: string, id: string) => `${prefix}:brk:{${scope}:${id}}:state`;
  beforeAll(async () => {
    redis = new Redis(stackEndpoints().redisUrl);
    // Fail open on purpose: a version problem must not be mistaken for an outage and let through.
    client = createBreakerClient({ redisUrl: stackEndpoints().redisUrl, keyPrefix: prefix, failMode: { default: 'open' }, timeoutMs: 5000 });
    await client.ready();
  });
  afterAll(async () => {
    await client.close();
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length) await redis.del(...keys);
    redis.disconnect();
  });

  it('v=2 state=closed denies', async () => {
    await redis.hset(key('vendor', 'v2-closed'), { v: '2', scope: 'vendor', id: 'v2-closed', state: 'closed' });
    const a = await client.check({ vendor: 'v2-closed' });
    expect(a).toMatchObject({ allowed: false, blockingScope: { scope: 'vendor', id: 'v2-closed' }, state: 'unknown', retryAfterMs: null, permits: [] });
    expect(a.degraded).toBeUndefined();
  });

  it('v=2 state=open (past its cool-down) denies without calling it an outage, and writes nothing', async () => {
    const past = String(Date.now() - 60_000);
    await redis.hset(key('vendor', 'v2-open'), { v: '2', scope: 'vendor', id: 'v2-open', state: 'open', since: past, until: past, trials: '1' });
    const a = await client.check({ vendor: 'v2-open', agent: 'a1' });
    expect(a).toMatchObject({ allowed: false, blockingScope: { scope: 'vendor', id: 'v2-open' }, state: 'unknown', permits: [] });
    expect(a.degraded).toBeUndefined();
    expect(await redis.hget(key('vendor', 'v2-open'), 'state')).toBe('open');
  });

  it('a state v1 does not know denies', async () => {
    await redis.hset(key('agent', 'ajar'), { v: '1', scope: 'agent', id: 'ajar', state: 'ajar', until: '0' });
    const a = await client.check({ agent: 'ajar' });
    expect(a).toMatchObject({ allowed: false, blockingScope: { scope: 'agent', id: 'ajar' }, state: 'unknown' });
    expect(a.reason).toContain('unknown state "ajar"');
    expect(a.degraded).toBeUndefined();
    expect(await redis.hget(key('agent', 'ajar'), 'state')).toBe('ajar');
  });
});
