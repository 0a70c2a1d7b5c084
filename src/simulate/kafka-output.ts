import type { Kafka, Producer } from 'kafkajs';
import type { AgentEvent } from '../../processors/core/events.ts';
import { schemaSubjects } from '../app/monitor.ts';
import type { Config } from '../config/config.ts';
import { encodeEvent } from '../kafka/event-codec.ts';
import { connectAdmin, createKafka, PRODUCER_OPTIONS } from '../kafka/kafka-client.ts';
import { registerSchemas, registryConnection, type RegisteredSchemas } from '../kafka/schema-registry.ts';
import { avroSchema } from '../kafka/schemas.ts';
import { ensureTopics } from '../kafka/topics.ts';
import type { Logger } from '../observability/logger.ts';

/** Where simulated events go: Kafka (kafka-output.ts) or a JSON Lines stream. */
export interface EventSink {
  send(events: readonly AgentEvent[]): Promise<void>;
  close(): Promise<void>;
}

/** The Kafka side of a simulation: the producer of events, and the client and registry the vendor adapter reads with. */
export interface KafkaSink extends EventSink {
  kafka: Kafka;
  schemas: RegisteredSchemas | undefined;
  topic: string;
  /** Events sent so far. */
  sent: number;
}

const BATCH = 500;

/**
 * Publishes events as `vigil produce` does: to the actions topic (created if missing), keyed by
 * userId, Avro through the schema registry (JSON without one, or with `json`).
 */
export async function openKafkaSink(config: Config, logger: Logger, opts: { topic?: string; json?: boolean } = {}): Promise<KafkaSink> {
  const topic = opts.topic ?? config.kafka.topics.actions;
  const kafka = createKafka(config, logger, '-simulate');
  const admin = await connectAdmin(kafka, config);
  await ensureTopics(admin, config).finally(() => admin.disconnect());
  const conn = registryConnection(config);
  const schemas = conn ? await registerSchemas(conn, { ...schemaSubjects(config), 'agent-action': topic }) : undefined;
  const avro = schemas && !opts.json
    ? { registry: schemas.registry, schemaId: schemas.ids['agent-action']!, fields: (avroSchema('agent-action').fields as { name: string }[]).map((f) => f.name) }
    : undefined;
  const producer: Producer = kafka.producer(PRODUCER_OPTIONS);
  await producer.connect();
  const sink: KafkaSink = {
    kafka,
    schemas,
    topic,
    sent: 0,
    async send(events) {
      for (let i = 0; i < events.length; i += BATCH) {
        const part = events.slice(i, i + BATCH);
        const messages = await Promise.all(part.map(async (e) => ({ key: e.userId, value: await encodeEvent(e as unknown as Record<string, unknown>, avro) })));
        await producer.send({ topic, acks: -1, messages });
        sink.sent += part.length;
      }
    },
    close: () => producer.disconnect(),
  };
  return sink;
}

/** JSON Lines to a writable stream (a file, or standard output). */
export function jsonlSink(out: NodeJS.WritableStream): EventSink & { sent: number } {
  const sink = {
    sent: 0,
    async send(events: readonly AgentEvent[]) {
      if (events.length === 0) return;
      let buf = '';
      for (const e of events) buf += JSON.stringify(e) + '\n';
      sink.sent += events.length;
      if (!out.write(buf)) await new Promise<void>((r) => out.once('drain', () => r()));
    },
    async close() {
      if (out === process.stdout) return;
      await new Promise<void>((resolve, reject) => (out as NodeJS.WritableStream & { end(cb: (e?: Error | null) => void): void }).end((e?: Error | null) => (e ? reject(e) : resolve())));
    },
  };
  return sink;
}
