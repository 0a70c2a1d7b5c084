import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Detector } from '../../processors/core/detector.ts';
import type { AgentEvent } from '../../processors/core/events.ts';
import { startMonitor, type Monitor } from '../../src/app/monitor.ts';
import type { BatchHandler } from '../../src/ingest/batch-handler.ts';
import { createDetectionHandler } from '../../src/detection/detection-handler.ts';
import { SliceStore } from '../../src/detection/slice-store.ts';
import { DLQ_HEADERS } from '../../src/ingest/dead-letter.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { defaultPolicy } from '../../src/policy/load-policy.ts';
import { makeEvents } from '../fixtures/make-events.ts';
import { MemorySink, tally } from '../detection/fixtures/live-helpers.ts';
import { createTopics, header, produceRaw, readTopic, testKafka } from '../helpers/kafka-helpers.ts';
import { testConfig } from '../helpers/test-config.ts';
import { waitFor } from '../helpers/wait.ts';

/**
 * A detector with a bug that only one event triggers (a TypeError on a field it assumes is there):
 * the event must go to the DLQ as processing_failed, with the stack in the error log, and every event
 * around it must be handled exactly once, on every partition, without stalling.
 */
const POISON_INTENT = 'i-poison';
const buggy: Detector<{ n: number }> = {
  kind: 'retry_spike',
  severity: 'info',
  defaults: {},
  keyOf: (e) => 'agent:' + e.agentId,
  init: () => ({ n: 0 }),
  onEvent(s, e) {
    if (e.intentId === POISON_INTENT) {
      const missing = (e as unknown as { notThere?: { deeper: string } }).notThere;
      s.n += missing!.deeper.length; // TypeError: Cannot read properties of undefined
    }
    s.n++;
    return s;
  },
  expiresAt: () => 8.64e15,
};

describe('a poison event (a detector bug on one event) in a vigil run ingest', () => {
  const { config } = testConfig({ VIGIL_LOG_LEVEL: 'info' });
  const lines: string[] = [];
  const logger = createLogger({ level: 'info', write: (l) => lines.push(l) });
  const detectors = [tally, buggy];
  const policy = defaultPolicy({ detectors });
  let monitor: Monitor;

  beforeAll(async () => {
    await createTopics(config);
    monitor = await startMonitor(config, {
      logger,
      serveMetrics: false,
      serveApi: false,
      handler: ({ redis, keys }) => createDetectionHandler({ redis, keys, policy, detectors, sink: new MemorySink() }),
    });
  });
  afterAll(async () => {
    await monitor?.stop();
  });

  const tallyOf = async (): Promise<number> => {
    const key = new SliceStore(monitor.redis, monitor.keys).sliceKey({ kind: 'runaway_agent', key: 'agent:shop-helper' });
    return (JSON.parse((await monitor.redis.hget(key, 's')) ?? '{"n":0}') as { n: number }).n;
  };
  const send = (events: AgentEvent[]) => produceRaw(config, config.kafka.topics.actions, events.map((e) => ({ key: e.userId, value: Buffer.from(JSON.stringify(e)) })));

  it('dead-letters the poison event as processing_failed with its stack logged, and handles the rest once', async () => {
    const events = makeEvents(60);
    const poison = { ...events[23]!, intentId: POISON_INTENT };
    events[23] = poison;
    await send(events);

    const [letter] = await readTopic(config, config.kafka.topics.dlq, 1, 90_000);
    expect(header(letter!, DLQ_HEADERS.reason)).toBe('processing_failed');
    expect(header(letter!, DLQ_HEADERS.detail)).toMatch(/TypeError/);
    expect(JSON.parse(letter!.value!.toString()).eventId).toBe(poison.eventId);

    // every other event applied exactly once to the detector state (no event lost, none applied twice)
    await waitFor(async () => (await tallyOf()) >= 59, { timeoutMs: 60_000, description: '59 good events counted' });
    expect(await tallyOf()).toBe(59);

    const logged = lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.level === 'error' && l.eventId === poison.eventId);
    expect(logged, 'an error log line naming the poison event').toBeDefined();
    const text = JSON.stringify(logged);
    expect(text).toMatch(/TypeError/);
    expect(text).toMatch(/poison-batch\.test\.ts/); // the stack of the cause, down to the detector's line
    expect(text).not.toContain(poison.userId); // no PII in the log
  }, 180_000);

  it('does not stall: later events on every partition are handled and the offsets committed to the end', async () => {
    const more = makeEvents(30, { startMs: Date.parse('2026-11-20T10:05:00.000Z') });
    await send(more);
    await waitFor(async () => (await tallyOf()) >= 89, { timeoutMs: 60_000, description: '30 more events counted' });
    expect(await tallyOf()).toBe(89);
    expect(monitor.ingest.stats.deadLettered).toBe(1);

    const admin = testKafka(config).admin();
    await admin.connect();
    try {
      const ends = await admin.fetchTopicOffsets(config.kafka.topics.actions);
      await waitFor(async () => {
        const [committed] = await admin.fetchOffsets({ groupId: config.kafka.groupId, topics: [config.kafka.topics.actions] });
        return ends.every((e) => committed!.partitions.find((p) => p.partition === e.partition)?.offset === e.high);
      }, { description: 'offsets committed to the end of every partition' });
    } finally {
      await admin.disconnect();
    }
  }, 120_000);
});

describe('a handler that fails on one event without naming it (bisected), and marks events handled itself', () => {
  const { config } = testConfig({ VIGIL_BATCH_MAX_ATTEMPTS: '2' });
  let monitor: Monitor;
  const handed: string[] = [];
  let bad = '';

  beforeAll(async () => {
    await createTopics(config);
    monitor = await startMonitor(config, {
      logger: createLogger({ level: 'error', write: () => {} }),
      serveMetrics: false,
      serveApi: false,
      handler: ({ redis, keys }): BatchHandler => ({
        async handle(events) {
          if (events.some((e) => e.eventId === bad)) throw new RangeError('Invalid array length');
          const multi = redis.multi();
          multi.rpush(`${keys.prefix}:test:handed`, ...events.map((e) => e.eventId));
          for (const e of events) multi.set(keys.seenEvent(e.eventId), '1', 'EX', config.redis.dedupeTtlSeconds);
          await multi.exec();
          handed.push(...events.map((e) => e.eventId));
        },
      }),
    });
  });
  afterAll(async () => {
    await monitor?.stop();
  });

  it('dead-letters that one event and hands on every other exactly once', async () => {
    const events = makeEvents(200);
    bad = events[131]!.eventId;
    await produceRaw(config, config.kafka.topics.actions, events.map((e) => ({ key: e.userId, value: Buffer.from(JSON.stringify(e)) })));
    const [letter] = await readTopic(config, config.kafka.topics.dlq, 1, 90_000);
    expect(header(letter!, DLQ_HEADERS.reason)).toBe('processing_failed');
    expect(header(letter!, DLQ_HEADERS.detail)).toMatch(/RangeError: Invalid array length/);
    expect(JSON.parse(letter!.value!.toString()).eventId).toBe(bad);
    await waitFor(() => monitor.ingest.stats.handled >= 199, { timeoutMs: 60_000, description: '199 events handled' });
    const inRedis = await monitor.redis.lrange(`${config.redis.keyPrefix}:test:handed`, 0, -1);
    expect(inRedis.length).toBe(199);
    expect(new Set(inRedis)).toEqual(new Set(events.map((e) => e.eventId).filter((id) => id !== bad)));
  }, 180_000);
});
