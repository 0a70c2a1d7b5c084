import type { Admin } from 'kafkajs';
import type { Config } from '../config/config.ts';

export interface TopicLayout {
  /** Partitions of the input topic as the broker has it (it may predate `kafka.partitions`). */
  actionsPartitions: number;
}

/**
 * Creates vigil's topics if they are missing (idempotent): the input with `kafka.partitions`
 * partitions, the outputs with the same count, the DLQ with one partition per input partition too so a
 * burst of bad events spreads. Replication follows the broker default. Returns the input topic's real
 * partition count, which the live engine needs to hold its watermark until every partition has spoken.
 */
export async function ensureTopics(admin: Admin, config: Config): Promise<TopicLayout> {
  const t = config.kafka.topics;
  const existing = new Set(await admin.listTopics());
  const wanted = [t.actions, t.dlq, t.findings, t.breakerTransitions, t.compensations].filter((name) => !existing.has(name));
  if (wanted.length > 0) {
    await admin.createTopics({
      waitForLeaders: true,
      topics: wanted.map((topic) => ({ topic, numPartitions: config.kafka.partitions })),
    });
  }
  // Created just now: it has the configured count (and its metadata may not have spread to every
  // broker yet). Otherwise ask the broker: the topic may predate the setting.
  if (!existing.has(t.actions)) return { actionsPartitions: config.kafka.partitions };
  const meta = await admin.fetchTopicMetadata({ topics: [t.actions] });
  const actionsPartitions = meta.topics[0]?.partitions.length ?? config.kafka.partitions;
  return { actionsPartitions };
}
