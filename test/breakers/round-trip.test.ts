import { createConnection, createServer, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectRedis, type RedisClient } from '../../src/redis/connection.ts';
import { BreakerStore } from '../../src/breakers/breaker-store.ts';
import { createBreakerClient } from '@vigil/breaker-client';
import { cleanup, sampleReason, uniqueKeys } from './helpers.ts';

/**
 * A TCP proxy in front of Redis that counts round trips: a round starts when the client sends after
 * having received an answer. Answers are held back a little so that everything a client sends "at
 * once" is seen before the first answer.
 */
async function roundTripProxy(target: number): Promise<{ port: number; rounds: () => number; reset: () => void; close: () => Promise<void> }> {
  let rounds = 0;
  let answeredSinceWrite = true;
  const server: Server = createServer((client) => {
    const upstream = createConnection({ host: '127.0.0.1', port: target });
    client.on('data', (d) => {
      if (answeredSinceWrite) rounds += 1;
      answeredSinceWrite = false;
      upstream.write(d);
    });
    upstream.on('data', (d) => {
      setTimeout(() => {
        answeredSinceWrite = true;
        client.write(d);
      }, 20);
    });
    const end = () => { client.destroy(); upstream.destroy(); };
    client.on('close', end);
    upstream.on('close', end);
    client.on('error', end);
    upstream.on('error', end);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as { port: number }).port;
  return {
    port,
    rounds: () => rounds,
    reset: () => { rounds = 0; answeredSinceWrite = true; },
    close: () => new Promise((r) => { server.close(() => r()); }),
  };
}

describe('check() round trips (single Redis)', () => {
  let redis: RedisClient;
  const keys = uniqueKeys('rt');
  let proxy: Awaited<ReturnType<typeof roundTripProxy>>;
  beforeAll(async () => {
    redis = connectRedis({ url: 'redis://127.0.0.1:6379' });
    proxy = await roundTripProxy(6379);
  });
  afterAll(async () => {
    await proxy.close();
    await cleanup(redis, keys);
    await redis.quit();
  });
  const q = { vendor: 'acme-air', agent: 'travel-assistant', user: 'u_4f2a', action: 'flight.book' };

  it('reads all five scopes in one round trip, allowed or denied', async () => {
    for (const autoPipelining of [true, false]) {
      const own = connectRedis({ url: `redis://127.0.0.1:${proxy.port}` });
      if (!autoPipelining) (own as unknown as { options: { enableAutoPipelining: boolean } }).options.enableAutoPipelining = false;
      const client = createBreakerClient({ redis: own, keyPrefix: keys.prefix, failMode: { default: 'open' }, timeoutMs: 2000 });
      try {
        await client.ready();
        await client.check(q); // first check also measures the clock offset (TIME, in the same round)
        proxy.reset();
        expect((await client.check(q)).allowed).toBe(true);
        expect(proxy.rounds(), `autoPipelining ${autoPipelining}`).toBe(1);
        await new BreakerStore({ redis, keys }).trip('user', 'u_4f2a', { findingId: `f_rt_${autoPipelining}`, reason: sampleReason('f'), settings: { baseMs: 600_000, capMs: 600_000, jitter: 0, trials: 1, trialTimeoutMs: 1000 } });
        proxy.reset();
        expect((await client.check(q)).allowed).toBe(false);
        expect(proxy.rounds()).toBe(1);
        await new BreakerStore({ redis, keys }).reset('user', 'u_4f2a', 'test', 'next round');
      } finally {
        await client.close();
        own.disconnect();
      }
    }
  });

  it('needs no round trip at all for a cached answer', async () => {
    const client = createBreakerClient({ redisUrl: `redis://127.0.0.1:${proxy.port}`, keyPrefix: keys.prefix, failMode: { default: 'open' }, cache: true, cacheTtlMs: 600_000, timeoutMs: 2000 });
    try {
      await client.ready();
      await client.check(q);
      proxy.reset();
      expect((await client.check(q)).allowed).toBe(true);
      expect(proxy.rounds()).toBe(0);
    } finally {
      await client.close();
    }
  });
});
