import { afterAll, describe, expect, it } from 'vitest';
import type { Consumer, EachMessagePayload } from 'kafkajs';
import { RestartingConsumer } from '../../src/kafka/restarting-consumer.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { produceRaw, testKafka } from '../helpers/kafka-helpers.ts';
import { testConfig } from '../helpers/test-config.ts';
import { randomName, waitFor } from '../helpers/wait.ts';

/**
 * A kafkajs consumer that crashes on a non-retriable error stays stopped: kafkajs restarts only after
 * retriable ones. The chaos suite saw the monitor's findings consumer die so in a Kafka outage ("Failed
 * to find group coordinator") and every later finding go without incident, e-mail or compensation.
 * Here the crash is made on real Kafka by a handler throwing an error marked not retriable, once.
 */
describe('RestartingConsumer (real Kafka)', () => {
  const { config } = testConfig();
  const kafka = testKafka(config);
  const stops: (() => Promise<unknown>)[] = [];
  afterAll(async () => {
    for (const s of stops) await s().catch(() => {});
  });

  /** A topic of three messages, and a handler that fails on `b` the first time, not retriably. */
  async function setUp() {
    const topic = randomName('restart');
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
    await admin.disconnect();
    await produceRaw(config, topic, ['a', 'b', 'c'].map((v) => ({ value: Buffer.from(v) })));
    const seen: string[] = [];
    let failed = false;
    const eachMessage = async ({ message }: EachMessagePayload) => {
      const v = message.value!.toString();
      if (v === 'b' && !failed) {
        failed = true;
        throw Object.assign(new Error('not retriable, once'), { retriable: false });
      }
      seen.push(v);
    };
    const create = () => kafka.consumer({ groupId: randomName('restart-group'), maxWaitTimeInMs: 200, retry: { retries: 0 } });
    return { topic, seen, eachMessage, create, failedOnce: () => failed };
  }

  it('starts a new consumer after a crash kafkajs does not recover from, and it resumes from the committed offset', async () => {
    const { topic, seen, eachMessage, create, failedOnce } = await setUp();
    const crashes: boolean[] = [];
    const lines: string[] = [];
    const c = new RestartingConsumer({
      log: createLogger({ level: 'info', write: (l) => void lines.push(l) }),
      create,
      start: async (consumer: Consumer) => {
        await consumer.connect();
        await consumer.subscribe({ topic, fromBeginning: true });
        await consumer.run({ eachMessage });
      },
      onCrash: (restarts) => crashes.push(restarts),
      backoff: { initialMs: 50, maxMs: 500 },
    });
    stops.push(() => c.stop());
    await c.start();
    await waitFor(() => seen.includes('c'), { timeoutMs: 60_000, description: 'every message handled after the restart' });
    expect(failedOnce()).toBe(true);
    expect(crashes).toEqual([false]); // kafkajs itself would not have restarted it
    expect(c.restarts).toBe(1);
    expect(seen.filter((v) => v === 'b')).toEqual(['b']);
    expect(seen[0]).toBe('a');
    expect(lines.join('\n')).toMatch(/consumer crashed and kafkajs does not restart it/);
    expect(lines.join('\n')).toMatch(/consumer restarted","why":"a crash kafkajs does not recover from"/);
  }, 90_000);

  it('is needed: a plain kafkajs consumer stays stopped after the same crash', async () => {
    const { topic, seen, eachMessage, create, failedOnce } = await setUp();
    const consumer = create();
    stops.push(() => consumer.disconnect());
    const crashed = new Promise<boolean>((r) => consumer.on(consumer.events.CRASH, ({ payload }) => r(payload.restart)));
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({ eachMessage });
    expect(await crashed).toBe(false);
    expect(failedOnce()).toBe(true);
    await new Promise((r) => setTimeout(r, 3_000));
    expect(seen).toEqual(['a']); // b and c never handled
  }, 60_000);
});
