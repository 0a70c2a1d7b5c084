import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBreakerClient } from '@vigil/breaker-client';
import { BreakerStore } from '../../src/breakers/breaker-store.ts';
import { startHttpServer } from '../../src/http/http-server.ts';
import { connectRedis, type RedisClient } from '../../src/redis/connection.ts';
import { KeyBuilder } from '../../src/redis/keys.ts';
import { runScript } from '../../src/redis/scripts.ts';
import { deleteBreakers, expectFields, loadVectors, stateKey, writeBreakers } from '../helpers/vectors.ts';
import { randomName } from '../helpers/wait.ts';
import { TEST_REDIS_URL } from './helpers.ts';

const vectors = loadVectors();
const CLIENT = 'vectors-client-token';

/**
 * The HTTP API (GET /v1/breakers/check with the client token, POST …/trial) and the Lua path (the
 * takePermit script alone, per scope) pass every conformance vector (docs/breaker-protocol.vectors.json).
 */
describe('conformance vectors', () => {
  let redis: RedisClient;
  beforeAll(() => {
    redis = connectRedis({ url: TEST_REDIS_URL, connectionName: 'test-vectors' });
  });
  afterAll(async () => {
    await redis.quit();
  });

  describe('HTTP API', () => {
    for (const v of vectors) {
      it(v.name, async () => {
        const prefix = randomName('t-vec-http');
        await writeBreakers(redis, prefix, v);
        const keys = new KeyBuilder(prefix);
        const store = new BreakerStore({ redis, keys, clock: () => v.now });
        const checker = createBreakerClient({ redis, keyPrefix: prefix, failMode: { default: 'open' }, timeoutMs: 5000, clock: () => v.now });
        const server = await startHttpServer({ store, checker, adminToken: undefined, clientToken: CLIENT, port: 0 });
        const auth = { authorization: `Bearer ${CLIENT}` };
        try {
          const qs = new URLSearchParams(v.check as Record<string, string>).toString();
          const r = await fetch(`http://127.0.0.1:${server.port}/v1/breakers/check?${qs}`, { headers: auth });
          expect(r.status).toBe(200);
          const a = (await r.json()) as Record<string, unknown>;
          expect({ allowed: a.allowed, blockingScope: a.blockingScope, state: a.state, retryAfterMs: a.retryAfterMs, permits: a.permits }, v.why).toEqual(v.expect);
          expect(a.degraded).toBeUndefined();
          await expectFields(redis, prefix, v.after, 'after the check');
          if (v.report) {
            for (const p of v.expect.permits) {
              const t = await fetch(`http://127.0.0.1:${server.port}/v1/breakers/${p.scope}/${encodeURIComponent(p.id)}/trial`, {
                method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ success: v.report.success }),
              });
              expect(await t.json()).toMatchObject({ outcome: 'applied' });
            }
            await expectFields(redis, prefix, v.report.after, 'after the report');
          }
        } finally {
          await server.close();
          await checker.close();
          await deleteBreakers(redis, prefix, v);
        }
      });
    }
  });

  describe('Lua path (takePermit on each scope alone)', () => {
    for (const v of vectors) {
      it(v.name, async () => {
        for (const s of v.scopes) {
          const prefix = randomName('t-vec-lua');
          await writeBreakers(redis, prefix, v);
          try {
            const ret = await runScript(redis, 'takePermit', [stateKey(prefix, s)], [String(v.now), `${prefix}:brk:transitions`, s.scope, s.id]);
            const r = typeof ret === 'number' ? { outcome: `code ${ret}` } : (JSON.parse(String(ret)) as { outcome: string; retryAfterMs: number | null });
            const got =
              r.outcome === 'allowed' ? { verdict: 'allow' }
              : r.outcome === 'permit' ? { verdict: 'trial' }
              : r.outcome === 'denied' ? { verdict: 'deny', retryAfterMs: (r as { retryAfterMs: number | null }).retryAfterMs }
              : r.outcome === 'code -1' ? { verdict: 'deny', retryAfterMs: null }
              : { verdict: r.outcome };
            expect({ scope: s.scope, id: s.id, ...got }, `${v.name}: ${s.scope}:${s.id}`).toEqual(s);
            // A trial the check takes leaves the same fields as taking it alone.
            if (got.verdict === 'trial' && v.expect.permits.some((p) => p.scope === s.scope && p.id === s.id)) {
              await expectFields(redis, prefix, v.after?.filter((a) => a.scope === s.scope && a.id === s.id), 'after takePermit');
            }
          } finally {
            await deleteBreakers(redis, prefix, v);
          }
        }
      });
    }
  });
});
