import type { Admin } from 'kafkajs';
import type { Config } from '../config/config.ts';

/**
 * Creates vigil's topics if they are missing (idempotent): the input with `kafka.partitions`
 * partitions, the outputs with the same count, the DLQ with one partition per input partition too so a
 * burst of bad events spreads. Replication follows the broker default.
 */
export async function ensureTopics(admin: Admin, config: Config): Promise<void> {
  const t = config.kafka.topics;
  const existing = new Set(await admin.listTopics());
  const wanted = [t.actions, t.dlq, t.findings, t.breakerTransitions, t.compensations].filter((name) => !existing.has(name));
  if (wanted.length === 0) return;
  await admin.createTopics({
    waitForLeaders: true,
    topics: wanted.map((topic) => ({ topic, numPartitions: config.kafka.partitions })),
  });
}
