import type { Finding } from '../../processors/core/finding.ts';
import type { Config } from '../config/config.ts';
import { TimeoutError, withTimeout } from '../errors/timeout.ts';
import { createKafka } from '../kafka/kafka-client.ts';
import { createRegistryClient, registryConnection } from '../kafka/schema-registry.ts';
import { silentLogger } from '../observability/logger.ts';

/**
 * Reads `count` findings from the findings topic from its beginning (Avro via the registry, or JSON),
 * for the demo and end-to-end tests. Fails after `timeoutMs` saying how many arrived.
 */
export async function readFindings(config: Config, count: number, timeoutMs = 30_000): Promise<Finding[]> {
  const kafka = createKafka(config, silentLogger, '-reader');
  const conn = registryConnection(config);
  const registry = conn ? createRegistryClient(conn) : undefined;
  const consumer = kafka.consumer({ groupId: `${config.kafka.groupId}-reader-${Date.now()}` });
  const got = new Map<string, Finding>();
  await consumer.connect();
  try {
    await consumer.subscribe({ topic: config.kafka.topics.findings, fromBeginning: true });
    const all = new Promise<void>((resolve, reject) => {
      consumer
        .run({
          eachMessage: async ({ message }) => {
            const v = message.value!;
            const f = (v[0] === 0 && registry ? await registry.decode(v) : JSON.parse(v.toString())) as Finding;
            got.set(f.findingId, f);
            if (got.size >= count) resolve();
          },
        })
        .catch(reject);
    });
    await withTimeout(all, timeoutMs, () => new TimeoutError(`read ${got.size} of ${count} findings from ${config.kafka.topics.findings} in ${timeoutMs} ms`, timeoutMs));
  } finally {
    await consumer.disconnect();
  }
  return [...got.values()];
}
