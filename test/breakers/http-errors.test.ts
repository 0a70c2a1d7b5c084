import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBreakerClient, type BreakerClient } from '@vigil/breaker-client';
import { BreakerStore } from '../../src/breakers/breaker-store.ts';
import { startHttpServer } from '../../src/http/http-server.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { connectRedis, type RedisClient } from '../../src/redis/connection.ts';
import { startRedisServer, type RedisServerHandle } from '../helpers/redis-server.ts';
import { uniqueKeys } from './helpers.ts';
import { waitFor } from '../helpers/wait.ts';

/**
 * The HTTP API tells a dependency being down (retriable: 503 with Retry-After, try again) from a bug
 * (500, logged at error with its stack under an errorId; the body carries the id, not the internals).
 */
describe('HTTP API: 503 for what is retriable, 500 for a bug', () => {
  let rs: RedisServerHandle;
  let redis: RedisClient;
  let checker: BreakerClient;
  let server: { port: number; close(): Promise<void> };
  const lines: Record<string, any>[] = [];
  const keys = uniqueKeys('http-errors');

  beforeAll(async () => {
    rs = await startRedisServer();
    redis = connectRedis({ url: rs.url, connectionName: 'test-http-errors', failFast: true });
    redis.on('error', () => {});
    await waitFor(() => redis.status === 'ready');
    checker = createBreakerClient({ redis, keyPrefix: keys.prefix, failMode: { default: 'closed' } });
    server = await startHttpServer({
      store: new BreakerStore({ redis, keys }),
      checker,
      adminToken: 'errors-admin-token',
      port: 0,
      logger: createLogger({ level: 'info', write: (l) => lines.push(JSON.parse(l)) }),
      // A route with a bug in it, as a detector or a view could have.
      routes: async (_req, _res, url) => {
        if (url.pathname !== '/v1/buggy') return false;
        const view = undefined as unknown as { breakers: unknown[] };
        return view.breakers.length > 0;
      },
    });
  });
  afterAll(async () => {
    await server?.close();
    await checker?.close();
    redis.disconnect();
    await rs.stop();
  });

  const get = async (path: string) => {
    const r = await fetch(`http://127.0.0.1:${server.port}${path}`);
    return { status: r.status, body: (await r.json()) as Record<string, any>, retryAfter: r.headers.get('retry-after') };
  };

  it('a bug answers 500 with an errorId and nothing of its internals, and is logged at error with its stack under that id', async () => {
    const r = await get('/v1/buggy?user=u_secret');
    expect(r.status).toBe(500);
    expect(r.retryAfter).toBeNull();
    expect(r.body).toEqual({ error: 'internal error: it is logged with this errorId', errorId: expect.stringMatching(/^[0-9a-f-]{36}$/) });
    expect(JSON.stringify(r.body)).not.toMatch(/TypeError|breakers|undefined|at /);
    const line = lines.find((l) => l.errorId === r.body.errorId);
    expect(line).toMatchObject({ level: 'error', msg: 'HTTP request failed: internal error', method: 'GET', path: '/v1/buggy', error: { name: 'TypeError' } });
    expect(line!.error.stack).toContain('http-errors.test.ts');
    expect(JSON.stringify(line)).not.toContain('u_secret'); // the query (user ids) stays out of the log
  });

  it('Redis down answers 503 with Retry-After, and is not logged as a bug', async () => {
    await rs.stop();
    try {
      const r = await get('/v1/breakers');
      expect(r.status).toBe(503);
      expect(r.retryAfter).toBe('5');
      expect(r.body.error).toMatch(/^unavailable: /);
      expect(lines.filter((l) => l.level === 'error')).toHaveLength(1); // only the bug of the case before
    } finally {
      await rs.restart();
    }
  });
});
