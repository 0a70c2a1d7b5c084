import { request } from 'node:http';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBreakerApi } from '../../src/http/start-breaker-api.ts';
import { loadConfig } from '../../src/config/config.ts';
import { connectRedis, type RedisClient } from '../../src/redis/connection.ts';
import { KeyBuilder } from '../../src/redis/keys.ts';
import { cleanup } from '../breakers/helpers.ts';
import { testEnv } from '../helpers/test-config.ts';
import { EDGE_CHARS, hostileString } from './arbitraries.ts';
import { cases, checkAsync } from './fuzz-support.ts';

/**
 * The breaker HTTP API (as `vigil run` serves it, on the shared Redis under a prefix of its own) on
 * random requests: methods, paths (odd segments, encodings, traversal, very long), query strings,
 * bodies (malformed JSON, huge, deeply nested, wrong shapes) and Authorization headers. Every answer
 * is a JSON object with a status the API documents (never a 5xx for a client's mistake), and the
 * server keeps serving. Issue 8 changes these routes; part B of issue 12 extends this to the new ones.
 */
const TOKEN = 'fuzz-admin-token-9f8e7d6c5b4a';
const env = testEnv({ VIGIL_ADMIN_TOKEN: TOKEN, VIGIL_ADMIN_RATE_PER_MINUTE: '0' });
const config = loadConfig(env);
let api: Awaited<ReturnType<typeof startBreakerApi>>;
let redis: RedisClient;

beforeAll(async () => {
  redis = connectRedis({ url: config.redis.url, connectionName: 'vigil-http-fuzz' });
  api = await startBreakerApi(config, { redis });
});
afterAll(async () => {
  await api?.close();
  await cleanup(redis, new KeyBuilder(config.redis.keyPrefix));
  redis.disconnect();
});

type Req = { method: string; path: string; headers: Record<string, string>; body: Buffer | undefined };

function send(r: Req): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; text: string }> {
  return new Promise((resolve, reject) => {
    // a connection per request: a reused keep-alive socket the server closed after a refusal would read as a reset
    const req = request({ host: '127.0.0.1', port: api.port, method: r.method, path: r.path, headers: r.headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', (e) => {
      // the server may close early on a body it refused (413): that is an answer, not a crash
      if ((e as NodeJS.ErrnoException).code === 'ECONNRESET' || (e as NodeJS.ErrnoException).code === 'EPIPE') resolve({ status: 0, headers: {}, text: '' });
      else reject(e);
    });
    req.end(r.body);
  });
}

const enc = (s: string) => encodeURIComponent(s.toWellFormed()); // a URL cannot carry a lone surrogate
const segment: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom('vendor', 'agent', 'user', 'action', 'global', 'all', 'acme-air', 'check', 'trial', 'force-open', 'force-close', 'reset', 'breakers', 'v1', '..', '.', '', '%', '%zz', '%ED%A0%80', '%00', '%2F', '%7B%7D', 'a%20b', 'x'.repeat(300)),
  hostileString(12).map(enc),
  fc.constantFrom(...EDGE_CHARS).map(enc),
);
const path: fc.Arbitrary<string> = fc.oneof(
  fc.array(segment, { minLength: 0, maxLength: 6 }).map((ss) => '/' + ss.join('/')),
  fc.tuple(fc.constantFrom('vendor', 'agent', 'user', 'action', 'global', 'tenant'), segment, fc.constantFrom('force-open', 'force-close', 'reset', 'trial', '', 'nope'))
    .map(([s, id, a]) => `/v1/breakers/${s}/${id}${a ? '/' + a : ''}`),
  fc.tuple(fc.constantFrom('/v1/breakers', '/v1/breakers/check', '/healthz', '/readyz'), fc.array(fc.tuple(fc.constantFrom('vendor', 'agent', 'user', 'action', 'scope', 'state', 'x', ''), fc.oneof(segment, fc.constant(''))), { maxLength: 4 }))
    .map(([p, q]) => `${p}${q.length ? '?' + q.map(([k, v]) => `${k}=${v}`).join('&') : ''}`),
  fc.constantFrom('/', '//', '/v1//breakers', '/v1/breakers/', '/v1/breakers/vendor//reset', `/${'a/'.repeat(2000)}`, '/v1/breakers?' + 'a=1&'.repeat(2000)),
);
const jsonBody: fc.Arbitrary<unknown> = fc.oneof(
  fc.record({ actor: fc.oneof(fc.constant('ops'), hostileString(10), fc.jsonValue()), reason: fc.oneof(fc.constant('drill'), hostileString(10), fc.constant('x'.repeat(2000))), ttlSeconds: fc.oneof(fc.integer({ min: -10, max: 3_000_000 }), fc.double(), fc.string()) }, { requiredKeys: [] }),
  fc.record({ success: fc.oneof(fc.boolean(), fc.jsonValue()) }, { requiredKeys: [] }),
  fc.jsonValue({ maxDepth: 3 }),
);
const body: fc.Arbitrary<Buffer | undefined> = fc.oneof(
  fc.constant(undefined),
  jsonBody.map((v) => Buffer.from(JSON.stringify(v) ?? 'null')),
  fc.constantFrom('{', '{"actor":', 'null', '[]', '""', '\u0000', '{"__proto__":{"x":1},"actor":"a","reason":"r","ttlSeconds":60}', '{"actor":"a","actor":"b","reason":"r","ttlSeconds":60}').map((s) => Buffer.from(s)),
  fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b)),
  fc.integer({ min: 2000, max: 20_000 }).map((n) => Buffer.from(`${'['.repeat(n)}${']'.repeat(n)}`)),
  fc.integer({ min: 16 * 1024, max: 2 * 1024 * 1024 }).map((n) => Buffer.alloc(n, 0x7b)),
);
const auth: fc.Arbitrary<Record<string, string>> = fc.oneof(
  fc.constant({}),
  fc.constant({ authorization: `Bearer ${TOKEN}` }),
  fc.constantFrom(`Bearer ${TOKEN.slice(0, -1)}`, 'Bearer', 'Basic dmlnaWw6cHc=', `bearer   ${TOKEN}  `, `Bearer ${TOKEN} extra`, 'Bearer ' + 'x'.repeat(5000), 'Bearer ' + 'x'.repeat(20_000)).map((a) => ({ authorization: a })),
);
const requestArb: fc.Arbitrary<Req> = fc
  // GET three times as often as each other method: most requests that can succeed are GETs. With every
  // method alike, 200 cases drew 1–6 answers of 200 (seeds 11–20), so none in about 3 runs in 100 and the
  // coverage check below failed them (a fresh-clone CI run did); now 4–11 on the same seeds
  .tuple(fc.constantFrom('GET', 'GET', 'GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS', 'TRACE'), path, auth, body, fc.constantFrom('application/json', 'text/plain', 'application/x-www-form-urlencoded', ''))
  .map(([method, p, a, b, ct]) => ({ method, path: p, headers: { ...a, ...(ct ? { 'content-type': ct } : {}) }, body: method === 'GET' || method === 'HEAD' ? undefined : b }));

const DOCUMENTED = [200, 400, 401, 403, 404, 405, 413, 429, 431];

describe('breaker HTTP API on random requests', () => {
  it('answers every request with a documented status and a JSON error naming the problem', async () => {
    const statuses = new Map<number, number>();
    await checkAsync('http: breaker API requests', fc.asyncProperty(requestArb, async (r) => {
      const res = await send(r);
      statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
      if (res.status === 0) {
        expect(r.body && r.body.length > 16 * 1024, 'only a refused huge body may end the connection early').toBe(true);
        return;
      }
      expect(DOCUMENTED, `${r.method} ${r.path.slice(0, 200)} → ${res.status} ${res.text.slice(0, 300)}`).toContain(res.status);
      if (r.method === 'HEAD') return;
      const json = JSON.parse(res.text) as Record<string, unknown>;
      if (res.status >= 400) {
        expect(typeof json.error).toBe('string');
        expect((json.error as string).length).toBeGreaterThan(0);
        expect(json.error as string).not.toMatch(/\n\s+at /);
        expect(res.text).not.toContain(TOKEN);
      }
      if (res.status === 405) expect(res.headers.allow).toBeDefined();
    }), cases(200, 1200));
    // the generator reaches the handlers, not only the router's refusals
    expect(statuses.get(200) ?? 0).toBeGreaterThan(0);
    expect((statuses.get(400) ?? 0) + (statuses.get(404) ?? 0)).toBeGreaterThan(0);
    // still serving
    expect((await send({ method: 'GET', path: '/healthz', headers: {}, body: undefined })).status).toBe(200);
  }, 300_000);
});
