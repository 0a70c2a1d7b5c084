import type { Producer } from 'kafkajs';
import type { BreakerTransition } from '../breakers/transition.ts';
import { withTimeout } from '../errors/timeout.ts';
import type { Config } from '../config/config.ts';
import type { Logger } from '../observability/logger.ts';
import { createKafka, PRODUCER_OPTIONS } from './kafka-client.ts';
import { registerSchemas, registryConnection } from './schema-registry.ts';
import { TransitionPublisher } from './transition-publisher.ts';

/** A connected publisher of breaker transitions to the audit topic, for a process that is not the monitor. */
export interface AuditPublisher {
  publish(t: BreakerTransition): Promise<void>;
  close(): Promise<void>;
}

/**
 * Connects a producer of `safety.breaker-transitions` (Avro through the registry when one is configured,
 * as the monitor writes it) within `timeoutMs`: what `vigil breakers open|close|reset` uses to put its
 * overrides on the audit trail itself. Rejects when Kafka or the registry does not answer in time; the
 * caller then still applies the override, whose record waits in the Redis outbox for a monitor's relay.
 */
export async function connectAuditPublisher(config: Config, logger: Logger, timeoutMs: number): Promise<AuditPublisher> {
  // Few retries: a command line must end soon after its deadline, and kafkajs holds the process while it retries.
  const kafka = createKafka(config, logger, '-audit', { initialRetryTime: 100, maxRetryTime: 1000, retries: 2 });
  const producer: Producer = kafka.producer(PRODUCER_OPTIONS);
  const topic = config.kafka.topics.breakerTransitions;
  try {
    const connecting = (async () => {
      const registry = registryConnection(config);
      const schemas = registry ? await registerSchemas(registry, { 'breaker-transition': topic }) : undefined;
      await producer.connect();
      // The monitor creates the topic at start; producing to a missing one would retry until the deadline.
      const admin = kafka.admin();
      try {
        await admin.connect();
        if (!(await admin.listTopics()).includes(topic)) throw new Error(`the topic does not exist (\`vigil run\` creates it at start)`);
      } finally {
        await admin.disconnect().catch(() => {});
      }
      return schemas;
    })();
    const schemas = await withTimeout(connecting, timeoutMs, 'connecting to Kafka and the schema registry');
    const publisher = new TransitionPublisher({
      producer,
      topic,
      ...(schemas ? { avro: { registry: schemas.registry, schemaId: schemas.ids['breaker-transition']! } } : {}),
    });
    return { publish: (t) => publisher.publish(t), close: () => producer.disconnect() };
  } catch (e) {
    await producer.disconnect().catch(() => {});
    throw new Error(`the audit topic ${topic} is not reachable: ${(e as Error).message}`, { cause: e });
  }
}
