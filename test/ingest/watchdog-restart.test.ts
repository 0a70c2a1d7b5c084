import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ValidEvent } from '../../processors/core/events.ts';
import { startMonitor, type Monitor } from '../../src/app/monitor.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { makeEvents } from '../fixtures/make-events.ts';
import { createTopics, produceRaw, testKafka } from '../helpers/kafka-helpers.ts';
import { testConfig } from '../helpers/test-config.ts';
import { waitFor } from '../helpers/wait.ts';

/**
 * Ingest's watchdog replaces a consumer that makes no progress (RestartingConsumer.restart, the loop
 * the findings consumers use after a crash). With a 1 s stall timeout an idle input's long poll (up to
 * 5 s, heartbeats every 3 s) looks stalled, so the consumer is replaced again and again on real Kafka;
 * events sent meanwhile are each handed on once, and the replacement commits them.
 */
describe('vigil run ingest: the watchdog replaces a stalled consumer', () => {
  const { config } = testConfig({ VIGIL_STALL_TIMEOUT_MS: '1000' });
  const lines: string[] = [];
  const handed: string[] = [];
  let monitor: Monitor;

  beforeAll(async () => {
    await createTopics(config);
    monitor = await startMonitor(config, {
      logger: createLogger({ level: 'info', write: (l) => void lines.push(l) }),
      serveMetrics: false,
      serveApi: false,
      handler: () => ({
        async handle(events: readonly ValidEvent[]) {
          for (const e of events) handed.push(e.eventId);
        },
      }),
    });
  });
  afterAll(async () => {
    await monitor?.stop();
  });

  const restarts = () => lines.filter((l) => l.includes('"msg":"consumer restarted"') && l.includes('"why":"watchdog"')).length;

  it('hands every event on once across the replacements, and commits through the new consumer', async () => {
    await waitFor(() => restarts() >= 1, { timeoutMs: 30_000, description: 'a watchdog restart of the idle consumer' });
    expect(lines.some((l) => l.includes('consumer made no progress; restarting it'))).toBe(true);

    const events = makeEvents(40);
    await produceRaw(config, config.kafka.topics.actions, events.map((e) => ({ key: e.userId, value: Buffer.from(JSON.stringify(e)) })));
    await waitFor(() => new Set(handed).size === events.length, { timeoutMs: 60_000, description: 'every event handed on' });
    // the restarts go on while it is idle again: wait for one more, so a batch redone by a replacement would show
    const before = restarts();
    await waitFor(() => restarts() > before, { timeoutMs: 30_000, description: 'another restart after the events' });
    expect([...handed].sort()).toEqual(events.map((e) => e.eventId).sort());
    expect(monitor.ingest.stats.handled).toBe(events.length);
    // committed up to the end of the input (a batch done by a replaced consumer is left to the next delivery, which finds it handled)
    const admin = testKafka(config).admin();
    await admin.connect();
    try {
      const topic = config.kafka.topics.actions;
      const end = (await admin.fetchTopicOffsets(topic)).reduce((n, p) => n + Number(p.high), 0);
      const [group] = await admin.fetchOffsets({ groupId: config.kafka.groupId, topics: [topic] });
      expect(group!.partitions.reduce((n, p) => n + Math.max(0, Number(p.offset)), 0)).toBe(end);
    } finally {
      await admin.disconnect();
    }
  }, 120_000);
});
