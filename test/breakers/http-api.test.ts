import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectRedis, type RedisClient } from '../../src/redis/connection.ts';
import { BreakerStore } from '../../src/breakers/breaker-store.ts';
import { createBreakerClient, type BreakerClient } from '@vigil/breaker-client';
import { startHttpServer } from '../../src/http/http-server.ts';
import { startRedisServer } from '../helpers/redis-server.ts';
import { cleanup, sampleReason, TEST_REDIS_URL, uniqueKeys } from './helpers.ts';

const TOKEN = 's3cret-admin-token';
const CLIENT = 'upstream-client-token';

describe('HTTP API', () => {
  let redis: RedisClient;
  const keys = uniqueKeys('http');
  let store: BreakerStore;
  let client: BreakerClient;
  let server: { port: number; close(): Promise<void> };
  let noToken: { port: number; close(): Promise<void> };
  let base: string;

  beforeAll(async () => {
    redis = connectRedis({ url: TEST_REDIS_URL, connectionName: 'test-breakers-http' });
    store = new BreakerStore({ redis, keys });
    client = createBreakerClient({ redis, keyPrefix: keys.prefix, failMode: { default: 'open' } });
    server = await startHttpServer({ store, checker: client, adminToken: TOKEN, clientToken: CLIENT, port: 0 });
    noToken = await startHttpServer({ store, checker: client, adminToken: undefined, port: 0 });
    base = `http://127.0.0.1:${server.port}`;
    await store.trip('vendor', 'acme-air', { findingId: 'f_http', reason: sampleReason('f_http'), settings: { baseMs: 600_000, capMs: 600_000, jitter: 0, trials: 1, trialTimeoutMs: 1000 } });
  });
  afterAll(async () => {
    await server.close();
    await noToken.close();
    await client.close();
    await cleanup(redis, keys);
    await redis.quit();
  });

  const get = async (path: string, opts: { token?: string } = {}) => {
    const r = await fetch(base + path, opts.token ? { headers: { authorization: `Bearer ${opts.token}` } } : {});
    return { status: r.status, body: (await r.json()) as any, headers: r.headers };
  };
  const post = async (path: string, body: unknown, opts: { token?: string | null; raw?: string; port?: number } = {}) => {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (opts.token !== null) headers.authorization = `Bearer ${opts.token ?? TOKEN}`;
    const r = await fetch(`http://127.0.0.1:${opts.port ?? server.port}${path}`, { method: 'POST', headers, body: opts.raw ?? JSON.stringify(body) });
    return { status: r.status, body: (await r.json()) as any, headers: r.headers };
  };
  const good = { actor: 'alice', reason: 'incident 42', ttlSeconds: 600 };

  it('GET /healthz and /readyz answer 200 while Redis is up', async () => {
    expect(await get('/healthz')).toMatchObject({ status: 200, body: { status: 'ok' } });
    expect(await get('/readyz')).toMatchObject({ status: 200, body: { status: 'ready' } });
  });

  it('GET /readyz answers 503 when Redis is unreachable', async () => {
    const rs = await startRedisServer();
    const r2 = connectRedis({ url: rs.url, failFast: true });
    r2.on('error', () => {});
    const s2 = await startHttpServer({ store: new BreakerStore({ redis: r2, keys }), checker: client, adminToken: TOKEN, port: 0 });
    try {
      await rs.stop();
      const r = await fetch(`http://127.0.0.1:${s2.port}/readyz`);
      expect(r.status).toBe(503);
      expect(((await r.json()) as any).status).toBe('not_ready');
    } finally {
      await s2.close();
      r2.disconnect();
    }
  });

  it('answers 404 for unknown routes and 405 for a wrong method', async () => {
    expect(await get('/nope')).toMatchObject({ status: 404, body: { error: 'no route GET /nope' } });
    expect((await get('/v1/breakers/vendor/acme-air/explode')).status).toBe(404);
    expect((await get('/v1/breakers/a/b/c/d')).status).toBe(404);
    expect((await post('/v1/breakers', {})).status).toBe(405);
    expect((await post('/healthz', {})).status).toBe(405);
  });

  it('GET /v1/breakers lists, filtered by scope and state', async () => {
    const all = await get('/v1/breakers');
    expect(all.status).toBe(200);
    expect(all.body.breakers).toEqual([expect.objectContaining({ scope: 'vendor', id: 'acme-air', state: 'open', effectiveState: 'open', trips: 1 })]);
    expect(all.body.breakers[0].reason.findingIds).toEqual(['f_http']);
    expect((await get('/v1/breakers?scope=vendor&state=open')).body.breakers).toHaveLength(1);
    expect((await get('/v1/breakers?scope=agent')).body.breakers).toHaveLength(0);
    expect((await get('/v1/breakers?state=closed')).body.breakers).toHaveLength(0);
  });

  it('GET /v1/breakers refuses bad filters with 400 naming them', async () => {
    expect(await get('/v1/breakers?scope=tenant')).toMatchObject({ status: 400, body: { error: expect.stringContaining('scope must be one of') } });
    expect(await get('/v1/breakers?state=ajar')).toMatchObject({ status: 400, body: { error: expect.stringContaining('state must be one of') } });
    expect(await get('/v1/breakers?colour=red')).toMatchObject({ status: 400, body: { error: expect.stringContaining('unknown query parameter "colour"') } });
    expect(await get('/v1/breakers?scope=user&scope=agent')).toMatchObject({ status: 400, body: { error: expect.stringContaining('more than once') } });
  });

  it('GET /v1/breakers/check answers allowed or denied with the reason', async () => {
    const ok = await get('/v1/breakers/check?vendor=other-air&agent=a1&user=u1&action=flight.book');
    expect(ok).toMatchObject({ status: 200, body: { allowed: true, state: 'closed' } });
    const no = await get('/v1/breakers/check?vendor=acme-air&agent=a1');
    expect(no).toMatchObject({ status: 200, body: { allowed: false, state: 'open', blockingScope: { scope: 'vendor', id: 'acme-air' } } });
    expect(no.body.reason).toContain('vendor_failure_rate');
  });

  it('GET /v1/breakers/check refuses bad input with 400', async () => {
    expect(await get('/v1/breakers/check?vendor=acme%20air')).toMatchObject({ status: 400, body: { error: expect.stringContaining('vendor id must be') } });
    expect(await get('/v1/breakers/check?vendor=')).toMatchObject({ status: 400, body: { error: 'vendor is empty: give an id or leave the parameter out' } });
    expect(await get('/v1/breakers/check?tenant=t1')).toMatchObject({ status: 400, body: { error: expect.stringContaining('unknown query parameter "tenant"') } });
  });

  it('GET /v1/breakers/{scope}/{id} shows one breaker; 404 when it has no state; 400 for a bad scope or encoding', async () => {
    expect(await get('/v1/breakers/vendor/acme-air')).toMatchObject({ status: 200, body: { scope: 'vendor', id: 'acme-air', state: 'open' } });
    expect((await get('/v1/breakers/agent/never-tripped')).status).toBe(404);
    expect(await get('/v1/breakers/tenant/t1')).toMatchObject({ status: 400, body: { error: expect.stringContaining('scope must be one of') } });
    expect(await get('/v1/breakers/user/%E0%A4%A')).toMatchObject({ status: 400, body: { error: expect.stringContaining('not valid URL encoding') } });
  });

  it('POST operator actions need the bearer admin token: 401 without, 403 wrong or unconfigured', async () => {
    const path = '/v1/breakers/agent/a1/force-open';
    const none = await post(path, good, { token: null });
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toContain('Bearer');
    expect((await post(path, good, { token: 'wrong' })).status).toBe(403);
    expect(await post(path, good, { port: noToken.port })).toMatchObject({ status: 403, body: { error: expect.stringContaining('no admin token is configured') } });
    expect((await get('/v1/breakers/agent/a1')).status).toBe(404);
  });

  it('POST force-open, force-close and reset change the breaker and return the transition', async () => {
    const o = await post('/v1/breakers/agent/a1/force-open', good);
    expect(o.status).toBe(200);
    expect(o.body.breaker).toMatchObject({ state: 'forced_open', actor: 'alice', note: 'incident 42' });
    expect(o.body.transitions).toEqual([expect.objectContaining({ from: 'closed', to: 'forced_open', cause: 'force_open', actor: 'alice' })]);
    expect((await get('/v1/breakers/check?agent=a1')).body).toMatchObject({ allowed: false, state: 'forced_open' });
    const c = await post('/v1/breakers/agent/a1/force-close', { ...good, reason: 'false positive' });
    expect(c.body.breaker).toMatchObject({ state: 'forced_closed', note: 'false positive' });
    const r = await post('/v1/breakers/agent/a1/reset', { actor: 'alice', reason: 'done' });
    expect(r.status).toBe(200);
    expect(r.body.breaker).toMatchObject({ state: 'closed' });
    expect(r.body.transitions[0]).toMatchObject({ cause: 'reset', from: 'forced_closed', to: 'closed' });
    expect((await post('/v1/breakers/agent/never-seen/reset', { actor: 'alice', reason: 'x' })).status).toBe(404);
  });

  it('POST /trial needs the client token: 401 without, 403 with another token (the admin one too) or none configured', async () => {
    const path = '/v1/breakers/vendor/someone-elses-air/trial';
    const none = await post(path, { success: true }, { token: null });
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toContain('Bearer');
    expect(none.body.error).toContain('client token');
    expect((await post(path, { success: true }, { token: 'wrong' })).status).toBe(403);
    expect((await post(path, { success: true }, { token: TOKEN })).body).toEqual({ error: 'the bearer token is not the client token' });
    expect(await post(path, { success: true }, { token: CLIENT, port: noToken.port })).toMatchObject({ status: 403, body: { error: expect.stringContaining('no client token is configured') } });
  });

  it('GET /check takes half-open permits only for callers with the client token; others are denied a trial, and nothing changes', async () => {
    await store.trip('vendor', 'due-air', { findingId: 'f_http_due', reason: sampleReason('f'), settings: { baseMs: 50, capMs: 50, jitter: 0, trials: 1, trialTimeoutMs: 60_000 } });
    await new Promise((r) => setTimeout(r, 80));
    const anonymous = await get('/v1/breakers/check?vendor=due-air');
    expect(anonymous.body).toMatchObject({ allowed: false, state: 'open', blockingScope: { scope: 'vendor', id: 'due-air' }, retryAfterMs: null, permits: [] });
    expect(anonymous.body.reason).toContain('trial');
    expect((await store.get('vendor', 'due-air'))!.status.kind).toBe('open');
    expect((await get('/v1/breakers/check?vendor=due-air', { token: 'wrong' })).status).toBe(403);
  });

  it('POST /trial reports a half-open trial taken through GET /check with the client token', async () => {
    await store.trip('vendor', 'trial-air', { findingId: 'f_http_trial', reason: sampleReason('f'), settings: { baseMs: 50, capMs: 50, jitter: 0, trials: 1, trialTimeoutMs: 60_000 } });
    await new Promise((r) => setTimeout(r, 80));
    const c = await get('/v1/breakers/check?vendor=trial-air', { token: CLIENT });
    expect(c.body).toMatchObject({ allowed: true, state: 'half_open', permits: [{ scope: 'vendor', id: 'trial-air' }] });
    const bad = [undefined, { success: 'yes' }, { success: true, extra: 1 }, [true]];
    for (const b of bad) {
      const r = await post('/v1/breakers/vendor/trial-air/trial', b, { token: CLIENT, ...(b === undefined ? { raw: '' } : {}) });
      expect(r.status, JSON.stringify(b)).toBe(400);
    }
    expect((await post('/v1/breakers/vendor/trial-air/trial', { success: true }, { token: CLIENT })).body).toMatchObject({ outcome: 'applied', state: 'closed' });
    expect((await post('/v1/breakers/vendor/trial-air/trial', { success: true }, { token: CLIENT })).body).toMatchObject({ outcome: 'ignored', state: 'closed' });
    expect((await get('/v1/breakers/vendor/trial-air/trial')).status).toBe(405);
    expect((await post('/v1/breakers/tenant/x/trial', { success: true }, { token: CLIENT })).status).toBe(400);
  });

  it('POST refuses every kind of bad input with 400 naming it', async () => {
    const p = '/v1/breakers/agent/a2/force-open';
    const cases: [unknown, string | undefined, string][] = [
      [undefined, '{not json', 'body is not valid JSON'],
      [undefined, '', 'it is empty'],
      [[1], undefined, 'body must be a JSON object'],
      [{ reason: 'x', ttlSeconds: 60 }, undefined, 'actor is required'],
      [{ actor: '  ', reason: 'x', ttlSeconds: 60 }, undefined, 'actor is required'],
      [{ actor: 'a', ttlSeconds: 60 }, undefined, 'reason is required'],
      [{ actor: 'a', reason: 'x' }, undefined, 'ttlSeconds is required'],
      [{ actor: 'a', reason: 'x', ttlSeconds: 0 }, undefined, 'ttlSeconds is required'],
      [{ actor: 'a', reason: 'x', ttlSeconds: 1.5 }, undefined, 'ttlSeconds is required'],
      [{ actor: 'a', reason: 'x', ttlSeconds: 99_999_999 }, undefined, 'ttlSeconds is required'],
      [{ actor: 'a', reason: 'x', ttlSeconds: 60, extra: 1 }, undefined, 'unknown field "extra"'],
    ];
    for (const [body, raw, msg] of cases) {
      const r = await post(p, body, raw !== undefined ? { raw } : {});
      expect(r.status, msg).toBe(400);
      expect(r.body.error).toContain(msg);
    }
    expect((await post('/v1/breakers/agent/a2/reset', { actor: 'a', reason: 'x', ttlSeconds: 5 })).body.error).toBe('ttlSeconds does not apply to reset');
    expect((await post('/v1/breakers/tenant/t1/force-open', good)).body.error).toContain('scope must be one of');
    expect((await post('/v1/breakers/global/everything/force-open', good)).body.error).toContain('global breaker\'s id is "all"');
    expect((await post(p, undefined, { raw: JSON.stringify({ ...good, reason: 'x'.repeat(20_000) }) })).status).toBe(413);
    expect((await get('/v1/breakers/agent/a2')).status).toBe(404);
  });
});
