import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.ts';
import { startBreakerApi } from '../../src/http/start-breaker-api.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { IngestMetrics } from '../../src/observability/metrics.ts';
import { startRedisServer, type RedisServerHandle } from '../helpers/redis-server.ts';
import { uniqueKeys } from './helpers.ts';

type Api = Awaited<ReturnType<typeof startBreakerApi>>;

/**
 * GET /v1/breakers/check when Redis cannot be asked: the answer follows the configured fail mode
 * (http.failMode, per scope, default closed), says it is degraded, is counted in
 * vigil_breaker_check_degraded_total and logged, at most one line per interval.
 */
describe('HTTP check when Redis is down', () => {
  let rs: RedisServerHandle;
  const keys = uniqueKeys('http-fail');
  beforeAll(async () => {
    rs = await startRedisServer();
  });
  afterAll(async () => {
    await rs.stop();
  });

  async function start(env: Record<string, string>): Promise<{ api: Api; metrics: IngestMetrics; logs: Record<string, unknown>[] }> {
    const config = loadConfig({ REDIS_URL: rs.url, VIGIL_REDIS_PREFIX: keys.prefix, VIGIL_HTTP_PORT: '0', VIGIL_ADMIN_TOKEN: 'tok', ...env });
    const metrics = new IngestMetrics();
    const logs: Record<string, unknown>[] = [];
    const logger = createLogger({ level: 'info', write: (l) => logs.push(JSON.parse(l) as Record<string, unknown>) });
    const api = await startBreakerApi(config, { metrics, logger });
    return { api, metrics, logs };
  }
  const check = async (api: Api, query: string) => (await (await fetch(`http://127.0.0.1:${api.port}/v1/breakers/check?${query}`)).json()) as Record<string, unknown>;
  const degradedCount = async (metrics: IngestMetrics) =>
    (await metrics.registry.getSingleMetric('vigil_breaker_check_degraded_total')?.get())?.values.map((v) => ({ labels: v.labels, value: v.value })) ?? [];

  it('denies by default (fail closed): a vendor forced open a moment earlier is not answered "allowed"', async () => {
    const { api, metrics, logs } = await start({});
    try {
      await api.store.force('vendor', 'acme-air', { mode: 'forced_open', actor: 'alice', note: 'incident', ttlMs: 600_000 });
      expect(await check(api, 'vendor=acme-air')).toMatchObject({ allowed: false, state: 'forced_open' });
      await rs.stop();
      for (let i = 0; i < 20; i++) {
        expect(await check(api, 'vendor=acme-air&user=u1'), `check ${i}`).toMatchObject({ allowed: false, state: 'unknown', degraded: 'redis_unreachable' });
      }
      expect(await degradedCount(metrics)).toEqual([{ labels: { scope_type: 'global', answer: 'denied', reason: expect.stringMatching(/^(timeout|redis_error)$/) }, value: 20 }]);
      const lines = logs.filter((l) => l.msg === 'breaker checks answered by fail mode: Redis unreachable');
      expect(lines, 'rate-limited: one line for 20 degraded answers within the interval').toHaveLength(1);
      expect(lines[0]).toMatchObject({ level: 'warn', answer: 'denied', scope: 'global:all' });
    } finally {
      await api.close();
      await rs.restart();
    }
  });

  it('follows per-scope overrides: "open,vendor=closed" allows a user check and denies a vendor check', async () => {
    const { api, metrics } = await start({ VIGIL_HTTP_FAIL_MODE: 'open,vendor=closed' });
    try {
      expect(await check(api, 'user=u1')).toMatchObject({ allowed: true, state: 'closed' });
      await rs.stop();
      expect(await check(api, 'user=u1')).toMatchObject({ allowed: true, state: 'unknown', degraded: 'redis_unreachable' });
      expect(await check(api, 'vendor=acme-air&user=u1')).toMatchObject({
        allowed: false, state: 'unknown', degraded: 'redis_unreachable', blockingScope: { scope: 'vendor', id: 'acme-air' },
      });
      const counts = await degradedCount(metrics);
      expect(counts.map((c) => [c.labels.scope_type, c.labels.answer, c.value]).sort()).toEqual([['none', 'allowed', 1], ['vendor', 'denied', 1]]);
    } finally {
      await api.close();
      await rs.restart();
    }
  });
});
