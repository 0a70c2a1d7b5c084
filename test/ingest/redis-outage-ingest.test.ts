import type { ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentEvent } from '../../processors/core/events.ts';
import { startMonitor, type Monitor } from '../../src/app/monitor.ts';
import { createDetectionHandler } from '../../src/detection/detection-handler.ts';
import { SliceStore } from '../../src/detection/slice-store.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { defaultPolicy } from '../../src/policy/load-policy.ts';
import { makeEvents } from '../fixtures/make-events.ts';
import { MemorySink, tally } from '../detection/fixtures/live-helpers.ts';
import { createTopics, produceRaw, testKafka } from '../helpers/kafka-helpers.ts';
import { freePort, removeDir, spawnRedis } from '../helpers/redis-server.ts';
import { testConfig } from '../helpers/test-config.ts';
import { waitFor } from '../helpers/wait.ts';
import { stopChild } from '../helpers/child-process.ts';

/**
 * Redis (a redis-server of the test's own) stopped under a running `vigil run` ingest with the
 * strictest isolation settings (one failed attempt isolates): an outage is not a poison, so nothing
 * is dead-lettered; the monitor waits and retries, and resumes on its own with every event counted once.
 */
describe('a Redis outage under vigil run ingest', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-ingest-outage-'));
  const persistent = ['--appendonly', 'yes', '--appendfsync', 'always'];
  let port: number;
  let redis: ChildProcess | undefined;
  let monitor: Monitor;
  const lines: string[] = [];
  let config: ReturnType<typeof testConfig>['config'];

  const kill = async () => {
    const c = redis;
    redis = undefined;
    await stopChild(c, 'SIGKILL');
  };

  beforeAll(async () => {
    port = await freePort();
    redis = await spawnRedis(port, dir, persistent);
    ({ config } = testConfig({ REDIS_URL: `redis://127.0.0.1:${port}`, VIGIL_BATCH_MAX_ATTEMPTS: '1', VIGIL_POISON_LIMIT: '100000' }));
    await createTopics(config);
    const detectors = [tally];
    const policy = defaultPolicy({ detectors });
    monitor = await startMonitor(config, {
      logger: createLogger({ level: 'warn', write: (l) => lines.push(l) }),
      serveMetrics: false,
      serveApi: false,
      handler: ({ redis: client, keys }) => createDetectionHandler({ redis: client, keys, policy, detectors, sink: new MemorySink(), commandTimeoutMs: 1000 }),
    });
    monitor.redis.on('error', () => {}); // refused connections while it is down are expected
  });
  afterAll(async () => {
    await monitor?.stop();
    await kill();
    removeDir(dir);
  });

  const send = (events: AgentEvent[]) => produceRaw(config, config.kafka.topics.actions, events.map((e) => ({ key: e.userId, value: Buffer.from(JSON.stringify(e)) })));
  const tallyOf = async (): Promise<number> => {
    const key = new SliceStore(monitor.redis, monitor.keys).sliceKey({ kind: 'runaway_agent', key: 'agent:shop-helper' });
    return (JSON.parse((await monitor.redis.hget(key, 's')) ?? '{"n":0}') as { n: number }).n;
  };
  const dlqSize = async (): Promise<number> => {
    const admin = testKafka(config).admin();
    await admin.connect();
    try {
      return (await admin.fetchTopicOffsets(config.kafka.topics.dlq)).reduce((n, p) => n + Number(p.high), 0);
    } finally {
      await admin.disconnect();
    }
  };

  it('pauses and retries while Redis is down, dead-letters nothing, and resumes by itself', async () => {
    await send(makeEvents(30));
    await waitFor(async () => (await tallyOf()) === 30, { timeoutMs: 60_000, description: 'the first 30 events counted' });

    await kill();
    const retriesBefore = monitor.ingest.stats.retries;
    await send(makeEvents(30, { startMs: Date.parse('2026-11-20T10:01:00.000Z') }));
    // long enough for several failed attempts (dedupe and state commands time out after 1-5 s)
    await waitFor(() => monitor.ingest.stats.retries >= retriesBefore + 2, { timeoutMs: 60_000, description: 'batches retried while Redis is down' });
    await sleep(2000);
    expect(monitor.ingest.stats.deadLettered).toBe(0);
    expect(await dlqSize()).toBe(0);

    redis = await spawnRedis(port, dir, persistent);
    await waitFor(async () => (await tallyOf()) >= 60, { timeoutMs: 90_000, description: 'the 30 events sent during the outage counted' });
    expect(await tallyOf()).toBe(60);
    expect(monitor.ingest.stats.deadLettered).toBe(0);
    expect(await dlqSize()).toBe(0);
    const logged = lines.map((l) => JSON.parse(l) as { msg: string; level: string });
    expect(logged.some((l) => /a dependency is down/.test(l.msg))).toBe(true);
    expect(logged.some((l) => /isolating|dead-lettered/.test(l.msg))).toBe(false);
  }, 240_000);
});
