import { Kafka, logLevel, type IHeaders, type KafkaMessage } from 'kafkajs';
import type { Config } from '../../src/config/config.ts';
import { ensureTopics } from '../../src/kafka/topics.ts';
import { quietKnownKafkajsWarnings } from '../../src/kafka/quiet-known-warnings.ts';
import { PRODUCER_OPTIONS } from '../../src/kafka/kafka-client.ts';

export function testKafka(config: Config): Kafka {
  quietKnownKafkajsWarnings();
  return new Kafka({ clientId: 'vigil-test', brokers: [...config.kafka.brokers], logLevel: logLevel.NOTHING });
}

export async function createTopics(config: Config): Promise<void> {
  const admin = testKafka(config).admin();
  await admin.connect();
  try {
    await ensureTopics(admin, config);
  } finally {
    await admin.disconnect();
  }
}

/** Sends raw messages (already-encoded values) to a topic. */
export async function produceRaw(config: Config, topic: string, messages: { key?: string; value: Buffer | null; headers?: IHeaders }[]): Promise<void> {
  const producer = testKafka(config).producer(PRODUCER_OPTIONS);
  await producer.connect();
  try {
    for (let i = 0; i < messages.length; i += 1000) await producer.send({ topic, acks: -1, messages: messages.slice(i, i + 1000) });
  } finally {
    await producer.disconnect();
  }
}

/** Reads every message of a topic from the beginning until `count` have arrived (or the timeout). */
export async function readTopic(config: Config, topic: string, count: number, timeoutMs = 30_000): Promise<KafkaMessage[]> {
  const kafka = testKafka(config);
  const consumer = kafka.consumer({ groupId: `reader-${topic}-${Math.random().toString(36).slice(2)}` });
  const got: KafkaMessage[] = [];
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`read ${got.length} of ${count} messages from ${topic} in ${timeoutMs} ms`)), timeoutMs);
      void consumer.run({
        eachMessage: async ({ message }) => {
          got.push(message);
          if (got.length >= count) {
            clearTimeout(timer);
            resolve();
          }
        },
      });
    });
  } finally {
    await consumer.disconnect();
  }
  return got;
}

/** How many messages a topic holds (the sum of its partitions' end offsets), once that number has not moved for `quietMs`. */
export async function settledTopicSize(config: Config, topic: string, quietMs = 3_000, timeoutMs = 60_000): Promise<number> {
  const admin = testKafka(config).admin();
  await admin.connect();
  try {
    const deadline = Date.now() + timeoutMs;
    let last = -1;
    let since = Date.now();
    for (;;) {
      const size = (await admin.fetchTopicOffsets(topic)).reduce((n, p) => n + Number(p.high) - Number(p.low), 0);
      if (size !== last) [last, since] = [size, Date.now()];
      else if (Date.now() - since >= quietMs) return size;
      if (Date.now() > deadline) throw new Error(`${topic} still growing after ${timeoutMs} ms (${size} messages)`);
      await new Promise((r) => setTimeout(r, 250));
    }
  } finally {
    await admin.disconnect();
  }
}

export const header = (m: KafkaMessage, name: string): string | undefined => {
  const v = m.headers?.[name];
  return v === undefined ? undefined : Buffer.isBuffer(v) ? v.toString('utf8') : String(v);
};
