import type { Logger } from '../observability/logger.ts';
import type { RedisClient } from '../redis/connection.ts';
import type { KeyBuilder } from '../redis/keys.ts';

/**
 * Notices a change in the input topic's partition count. The input is keyed by userId, so a user's
 * events stay on one partition, which is what lets the live engine keep user and intent state resident
 * with it (resident-state.ts). Adding partitions to a running topic moves users to other partitions,
 * where that state starts fresh: findings that span the move can be missed. Kafka gives no sign of it
 * in the stream, so the count each start sees is kept in Redis (KeyBuilder.detectorLayout) and a
 * different one is reported, loudly, once.
 */
export async function checkPartitionLayout(redis: RedisClient, keys: KeyBuilder, topic: string, partitions: number, log: Logger): Promise<{ before: number | undefined; now: number }> {
  const key = keys.detectorLayout();
  const stored = await redis.hget(key, topic);
  const before = stored === null ? undefined : Number(stored);
  if (before !== partitions) await redis.hset(key, topic, String(partitions));
  if (before !== undefined && before !== partitions) {
    log.error('the input topic\'s partition count changed since the last start: users have moved between partitions, and their user and intent state starts fresh where they landed; findings spanning the change can be missed (README, "Detector state lives where its events arrive")', {
      topic,
      partitionsBefore: before,
      partitionsNow: partitions,
    });
  }
  return { before, now: partitions };
}
