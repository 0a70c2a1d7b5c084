import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMonitor, type Monitor } from '../../src/app/monitor.ts';
import { silentLogger } from '../../src/observability/logger.ts';
import { startRedisServer, type RedisServerHandle } from '../helpers/redis-server.ts';
import { testConfig } from '../helpers/test-config.ts';
import { waitFor } from '../helpers/wait.ts';

/**
 * Degraded state is visible: the monitor's vigil_dependency_up{dependency} says which dependency it
 * cannot reach, and /readyz answers 503 naming it while it is down, 200 again once it is back. Redis
 * here is one of the test's own, stopped (SIGKILL) and started again.
 */
describe('vigil_dependency_up and /readyz follow a dependency going down and coming back', () => {
  let rs: RedisServerHandle;
  let monitor: Monitor;
  let redisStopped = false;
  beforeAll(async () => {
    rs = await startRedisServer();
    // breaker metrics older than 0.5 s are read again at scrape time, so a scrape during the outage starts that read
    const { config } = testConfig({ REDIS_URL: rs.url, VIGIL_DEPENDENCY_PROBE_MS: '300', VIGIL_METRICS_PORT: '0', VIGIL_HTTP_PORT: '0', VIGIL_BREAKER_METRICS_MAX_AGE_MS: '500' });
    monitor = await startMonitor(config, { logger: silentLogger });
  });
  afterAll(async () => {
    if (redisStopped) await rs.restart(); // the monitor stops cleanly only with its Redis there
    await monitor?.stop();
    await rs?.stop();
  });

  const gauge = async (): Promise<Record<string, number>> => {
    const text = await (await fetch(`http://127.0.0.1:${monitor.metricsPort}/metrics`)).text();
    return Object.fromEntries([...text.matchAll(/^vigil_dependency_up\{dependency="([a-z_]+)"\} (\d)$/gm)].map((m) => [m[1]!, Number(m[2])]));
  };
  const readyz = async () => {
    const r = await fetch(`http://127.0.0.1:${monitor.apiPort}/readyz`);
    return { status: r.status, body: (await r.json()) as { status: string; reason?: string; down?: string[]; dependencies?: Record<string, { up: boolean; error?: string }> } };
  };

  it('all up: gauge 1 for kafka, redis, schema_registry and smtp; /readyz 200 with each one\'s last answer', async () => {
    await waitFor(async () => Object.keys((await readyz()).body.dependencies ?? {}).length === 4, { timeoutMs: 10_000 });
    expect(await gauge()).toEqual({ kafka: 1, redis: 1, schema_registry: 1, smtp: 1 });
    const r = await readyz();
    expect(r.status).toBe(200);
    expect(r.body.dependencies).toMatchObject({ kafka: { up: true }, redis: { up: true }, schema_registry: { up: true }, smtp: { up: true } });
  });

  it('Redis stopped: gauge 0 for redis only, /readyz 503 naming redis; started again: gauge 1, /readyz 200', async () => {
    await rs.stop();
    redisStopped = true;
    const down = await waitFor(async () => {
      const r = await readyz();
      return r.status === 503 && r.body.reason === 'dependency down: redis' ? r : undefined;
    }, { timeoutMs: 10_000 });
    expect(down.body).toMatchObject({ status: 'not_ready', reason: 'dependency down: redis', down: ['redis'], dependencies: { redis: { up: false, error: expect.any(String) }, kafka: { up: true } } });
    expect(await gauge()).toEqual({ kafka: 1, redis: 0, schema_registry: 1, smtp: 1 });
    // scrapes answer promptly while Redis stays away: the breaker read that waits for it is not waited
    // for again by every scrape (it was, 3 s each: a scraper with a 3 s timeout saw no metrics at all)
    const took: number[] = [];
    for (let i = 0; i < 4; i++) {
      const t0 = performance.now();
      expect((await gauge()).redis).toBe(0);
      took.push(performance.now() - t0);
      await new Promise((r) => setTimeout(r, 600));
    }
    expect(took.filter((ms) => ms > 1500), `scrape times ${took.map(Math.round).join(', ')} ms`).toEqual([]);

    await rs.restart();
    redisStopped = false;
    await waitFor(async () => (await readyz()).status === 200, { timeoutMs: 20_000 });
    expect(await gauge()).toEqual({ kafka: 1, redis: 1, schema_registry: 1, smtp: 1 });
    expect((await readyz()).body.dependencies?.redis).toMatchObject({ up: true });
  });
});
