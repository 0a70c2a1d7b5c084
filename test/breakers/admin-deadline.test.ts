import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBreakerClient } from '@vigil/breaker-client';
import { breakerScripts } from '@vigil/breaker-client/protocol';
import { BreakerStore } from '../../src/breakers/breaker-store.ts';
import { startHttpServer } from '../../src/http/http-server.ts';
import { connectRedis, type RedisClient } from '../../src/redis/connection.ts';
import { KeyBuilder } from '../../src/redis/keys.ts';
import { silentLogger } from '../../src/observability/logger.ts';
import { REPO_ROOT, runTs } from '../helpers/child-process.ts';
import { startHoldingProxy } from '../helpers/holding-proxy.ts';
import { startRedisServer, type RedisServerHandle } from '../helpers/redis-server.ts';
import { testEnv } from '../helpers/test-config.ts';
import { waitFor } from '../helpers/wait.ts';

/**
 * Operator writes (force-open, force-close, reset) give up at their deadline and are never applied after
 * it. Each case cuts a Redis of the test's own during a force-open: the caller must get the abandon
 * error within deadline + margin, and once the write reaches Redis after all (held in the network, or
 * queued by ioredis while Redis was down), the script refuses it: the breaker is NOT open.
 */
const TOKEN = 'deadline-admin-token';
const DEADLINE_MS = 1000;
/** The caller waits ABANDON_GRACE_MS (250) past the deadline; the rest is scheduling slack. */
const MARGIN_MS = 1500;
/** The RESP bytes of a script call (EVALSHA, or its EVAL fallback): where the proxy cuts. */
const SCRIPT_CALL = /\$(4|7)\r\neval(sha)?\r\n/i;

describe('admin writes with a deadline, never applied late', () => {
  let rs: RedisServerHandle;
  let direct: RedisClient;
  const keys = new KeyBuilder(`deadline-${process.pid}`);
  const open = (scope: string, id: string) => direct.hgetall(keys.breakerState(scope, id));
  /** Calls of EVALSHA and EVAL the server has run (successful or refused), from INFO commandstats. */
  const scriptCalls = async (c: RedisClient = direct) => {
    const info = await c.info('commandstats');
    return [...info.matchAll(/^cmdstat_eval(?:sha)?:calls=(\d+)/gm)].reduce((n, m) => n + Number(m[1]), 0);
  };
  /** Loads the breaker scripts, so a held EVALSHA runs when it arrives (no NOSCRIPT round trip). */
  const loadBreakerScripts = async () => {
    for (const s of breakerScripts()) await direct.script('LOAD', s.lua);
  };

  beforeAll(async () => {
    rs = await startRedisServer();
    direct = connectRedis({ url: rs.url, connectionName: 'test-deadline-direct' });
    direct.on('error', () => {});
    await loadBreakerScripts();
  });
  afterAll(async () => {
    direct.disconnect();
    await rs.stop();
  });

  async function api(redis: RedisClient) {
    const store = new BreakerStore({ redis, keys, writeDeadlineMs: DEADLINE_MS });
    const checker = createBreakerClient({ redis, keyPrefix: keys.prefix, failMode: { default: 'closed' } });
    const server = await startHttpServer({ store, checker, adminToken: TOKEN, port: 0, logger: silentLogger });
    const post = async (path: string, body: unknown) => {
      const r = await fetch(`http://127.0.0.1:${server.port}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
        body: JSON.stringify(body),
      });
      return { status: r.status, body: (await r.json()) as { error?: string; breaker?: { state: string } }, retryAfter: r.headers.get('retry-after') };
    };
    return { post, port: server.port, close: async () => { await server.close(); await checker.close(); } };
  }

  it('HTTP: a force-open held in the network answers 503 "abandoned, not applied" within the deadline; released later, Redis refuses it', async () => {
    const proxy = await startHoldingProxy(rs.port, SCRIPT_CALL);
    const redis = connectRedis({ url: proxy.url, connectionName: 'test-deadline-http' });
    redis.on('error', () => {});
    const { post, close } = await api(redis);
    try {
      const t0 = Date.now();
      const r = await post('/v1/breakers/vendor/held-air/force-open', { actor: 'alice', reason: 'incident 7', ttlSeconds: 600 });
      const took = Date.now() - t0;
      expect(r.status).toBe(503);
      expect(r.retryAfter).toBe('5');
      expect(r.body.error).toMatch(/^force-open of vendor\/held-air abandoned at its deadline and NOT applied/);
      expect(took).toBeGreaterThanOrEqual(DEADLINE_MS);
      expect(took).toBeLessThan(DEADLINE_MS + MARGIN_MS);
      await proxy.held;
      const calls = await scriptCalls();
      proxy.release();
      await redis.ping(); // same connection, in order: the held script has run when PING answers
      expect(await scriptCalls()).toBeGreaterThan(calls); // it did reach Redis, and was refused
      expect(await open('vendor', 'held-air')).toEqual({});
      expect(await direct.xlen(keys.breakerAudit('vendor', 'held-air'))).toBe(0);
      // the network is back: the same write now applies, its TTL starting now
      const again = await post('/v1/breakers/vendor/held-air/force-open', { actor: 'alice', reason: 'incident 7', ttlSeconds: 600 });
      expect(again).toMatchObject({ status: 200, body: { breaker: { state: 'forced_open' } } });
    } finally {
      await close();
      redis.disconnect();
      await proxy.close();
    }
  });

  it('HTTP: with Redis down the write is queued by ioredis; the caller gets 503 within the deadline, and when Redis is back the queued write is refused', async () => {
    const redis = connectRedis({ url: rs.url, connectionName: 'test-deadline-down' });
    redis.on('error', () => {});
    await redis.ping();
    const { post, close, port } = await api(redis);
    try {
      await rs.stop();
      // a read is bounded the same way: 503 with Retry-After, not an answer when Redis is back
      const t1 = Date.now();
      const list = await fetch(`http://127.0.0.1:${port}/v1/breakers`);
      expect(Date.now() - t1).toBeLessThan(DEADLINE_MS + MARGIN_MS);
      expect(list.status).toBe(503);
      expect(list.headers.get('retry-after')).toBe('5');
      expect(await list.json()).toEqual({ error: `unavailable: reading the breakers from Redis did not finish within ${DEADLINE_MS} ms` });
      const t0 = Date.now();
      const r = await post('/v1/breakers/agent/queued-bot/force-open', { actor: 'bob', reason: 'runaway agent', ttlSeconds: 600 });
      const took = Date.now() - t0;
      expect(r.status).toBe(503);
      expect(r.body.error).toContain('abandoned at its deadline and NOT applied');
      expect(took).toBeLessThan(DEADLINE_MS + MARGIN_MS);
      await rs.restart();
      await waitFor(() => redis.status === 'ready', { timeoutMs: 15_000 });
      await redis.ping(); // the offline queue is flushed in order before this
      expect(await scriptCalls(redis)).toBeGreaterThan(0); // the queued write reached the restarted Redis
      expect(await open('agent', 'queued-bot')).toEqual({});
      expect(await redis.xlen(keys.breakerAudit('agent', 'queued-bot'))).toBe(0);
    } finally {
      await close();
      redis.disconnect();
    }
  });

  it('CLI: `vigil breakers open` held in the network exits 1 saying it was abandoned and not applied; released later, Redis refuses it', async () => {
    await waitFor(async () => (await direct.ping()) === 'PONG', { timeoutMs: 15_000 });
    await loadBreakerScripts(); // the server restarted in the case before
    const proxy = await startHoldingProxy(rs.port, SCRIPT_CALL);
    try {
      const env = testEnv({ REDIS_URL: proxy.url, VIGIL_REDIS_PREFIX: keys.prefix, VIGIL_ADMIN_WRITE_DEADLINE_MS: String(DEADLINE_MS) });
      const cli = runTs(join(REPO_ROOT, 'src/cli/main.ts'), ['breakers', 'open', 'user', 'u_held', '--actor', 'carol', '--reason', 'fraud review', '--ttl', '10m'], env);
      let heldAt = 0;
      void proxy.held.then(() => (heldAt = Date.now()));
      const code = await cli.exited;
      const exitedAt = Date.now();
      expect(code, cli.stderr.join('')).toBe(1);
      expect(cli.stderr.join('')).toMatch(/vigil breakers open: force-open of user\/u_held abandoned at its deadline and NOT applied/);
      expect(heldAt).toBeGreaterThan(0);
      expect(exitedAt - heldAt).toBeLessThan(DEADLINE_MS + MARGIN_MS);
      const calls = await scriptCalls();
      proxy.release();
      // The CLI is gone; its held bytes reach Redis now. Redis runs them before it sees the connection close.
      await waitFor(async () => (await scriptCalls()) > calls, { timeoutMs: 5000 });
      expect(await open('user', 'u_held')).toEqual({});
      expect(await direct.xlen(keys.breakerAudit('user', 'u_held'))).toBe(0);
    } finally {
      await proxy.close();
    }
  });
});
