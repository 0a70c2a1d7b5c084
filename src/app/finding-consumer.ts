import type { EachMessageHandler, Kafka } from 'kafkajs';
import type { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import type { Finding } from '../../processors/core/finding.ts';
import type { Logger } from '../observability/logger.ts';
import { RestartingConsumer } from '../kafka/restarting-consumer.ts';

export interface FindingConsumerOptions {
  kafka: Kafka;
  /** safety.findings */
  topic: string;
  groupId: string;
  /** The consumer session timeout (config kafka.sessionTimeoutMs, as ingest's). */
  sessionTimeoutMs: number;
  registry: SchemaRegistry | undefined;
  logger: Logger;
  /** What to do with each finding; retried with backoff until it succeeds (it must be idempotent). */
  handle: (f: Finding) => Promise<void>;
}

/** A finding as read from the topic: Avro's nulls of absent optional fields become absent fields. */
export async function decodeFinding(value: Buffer, registry: SchemaRegistry | undefined): Promise<Finding> {
  const raw = (value[0] === 0 && registry ? await registry.decode(value) : JSON.parse(value.toString('utf8'))) as Record<string, unknown>;
  for (const k of ['traceIds', 'metrics', 'subjects', 'target']) if (raw[k] === null) delete raw[k];
  return raw as unknown as Finding;
}

/**
 * Reads `safety.findings` in a consumer group of its own and hands each finding to `handle`, committing
 * only what was handled: every finding that reached the topic gets its response (saga, incident),
 * whatever happened to the batch that found it. A new group skips the findings published more than a
 * minute before its first start (a first start does not act on old findings); an existing one resumes
 * where it stopped.
 */
export async function startFindingConsumer(o: FindingConsumerOptions): Promise<{ stop(): Promise<void> }> {
  const log = o.logger.child({ component: 'response-consumer' });
  // A group that never committed starts with the findings of about now, not with the topic's
  // history: a first start must not act on last week's findings. (By message time, with a minute of
  // slack for clocks; the skipped ones are committed with the rest.)
  const admin = o.kafka.admin();
  await admin.connect();
  let notBefore = 0;
  try {
    const [t] = await admin.fetchOffsets({ groupId: o.groupId, topics: [o.topic] });
    if (!t || t.partitions.every((p) => p.offset === '-1')) notBefore = Date.now() - 60_000;
  } finally {
    await admin.disconnect();
  }
  let skipped = 0;
  let stopping = false;
  const eachMessage: EachMessageHandler = async ({ message, heartbeat }) => {
    if (!message.value) return;
    if (Number(message.timestamp) < notBefore) {
      if (skipped++ === 0) log.info('new response group: findings from before its first start are skipped', { before: new Date(notBefore).toISOString() });
      return;
    }
    let f: Finding;
    try {
      f = await decodeFinding(message.value, o.registry);
    } catch (e) {
      log.error('a finding could not be read; skipped', { offset: message.offset, error: e as Error });
      return;
    }
    let last = '';
    for (let delay = 200; ; delay = Math.min(delay * 2, 5000)) {
      try {
        await o.handle(f);
        return;
      } catch (e) {
        const msg = (e as Error).message;
        if (msg !== last) log.error('responding to a finding failed; retrying', { findingId: f.findingId, error: e as Error });
        last = msg;
        if (stopping) throw e;
        await new Promise((r) => setTimeout(r, delay));
        await heartbeat().catch(() => {});
      }
    }
  };
  // A new consumer after a crash kafkajs does not recover from (a broker outage at the wrong moment):
  // it resumes from the group's committed offsets, so no finding goes without its response.
  const consumer = new RestartingConsumer({
    log,
    create: () =>
      o.kafka.consumer({
        groupId: o.groupId,
        allowAutoTopicCreation: false,
        sessionTimeout: o.sessionTimeoutMs,
        heartbeatInterval: Math.min(3000, Math.floor(o.sessionTimeoutMs / 3)),
        // A short long-poll: stopping waits for the fetch in flight.
        maxWaitTimeInMs: 1000,
      }),
    start: async (c) => {
      await c.connect();
      await c.subscribe({ topic: o.topic, fromBeginning: true });
      // Not awaited: run() resolves once the group is joined (seconds for a new group); the monitor need
      // not wait for that, the offsets to start from are already committed.
      c.run({ eachMessage }).catch((e: unknown) => log.error('the findings consumer did not start', { error: e as Error }));
    },
  });
  await consumer.start();
  return {
    async stop() {
      stopping = true;
      await consumer.stop();
    },
  };
}
