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
    try {
      await admin.createTopics({
        waitForLeaders: true,
        topics: wanted.map((topic) => ({ topic, numPartitions: config.kafka.partitions })),
      });
    } catch (e) {
      // kafkajs waits for the new topics' leaders but gives up when a broker does not know a topic yet,
      // which a KRaft broker says for a moment after creating it: the topics exist, wait until they show.
      if (!isNotYetKnown(e)) throw e;
      for (const topic of wanted) await partitionCount(admin, topic);
    }
  }
  // Created just now: it has the configured count (and its metadata may not have spread to every
  // broker yet). Otherwise ask the broker: the topic may predate the setting.
  if (!existing.has(t.actions)) return { actionsPartitions: config.kafka.partitions };
  return { actionsPartitions: await partitionCount(admin, t.actions) };
}

/** A topic's partition count; a topic another process created a moment ago may need a few tries. */
async function partitionCount(admin: Admin, topic: string): Promise<number> {
  for (let attempt = 1; ; attempt++) {
    try {
      const meta = await admin.fetchTopicMetadata({ topics: [topic] });
      return meta.topics[0]!.partitions.length;
    } catch (e) {
      if (!isNotYetKnown(e) || attempt >= 40) throw e;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

/** The broker's answer for a topic (or its leader) created a moment ago. */
function isNotYetKnown(e: unknown): boolean {
  const type = (e as { type?: string }).type;
  return type === 'UNKNOWN_TOPIC_OR_PARTITION' || type === 'LEADER_NOT_AVAILABLE';
}
