import type { ChainableCommander } from 'ioredis';
import type { RedisClient } from '../redis/connection.ts';
import type { KeyBuilder } from '../redis/keys.ts';

/**
 * Remembers which eventIds have been handed on, in Redis, shared by every monitor instance.
 * Checking and marking are separate steps on purpose: an id is marked only after its batch's effects
 * are durable, so a crash in between redelivers the event instead of losing it. Both steps are one
 * auto-pipelined round trip per batch.
 */
export class EventDedupe {
  private readonly redis: RedisClient;
  private readonly keys: KeyBuilder;
  private readonly ttlSeconds: number;

  constructor(redis: RedisClient, keys: KeyBuilder, ttlSeconds: number) {
    this.redis = redis;
    this.keys = keys;
    this.ttlSeconds = ttlSeconds;
  }

  /** The ids among `eventIds` not yet marked as seen (duplicates inside the list are dropped too). */
  async unseen(eventIds: readonly string[]): Promise<Set<string>> {
    const unique = [...new Set(eventIds)];
    const exists = await Promise.all(unique.map((id) => this.redis.exists(this.keys.seenEvent(id))));
    return new Set(unique.filter((_, i) => exists[i] === 0));
  }

  /** Adds the markers to a caller's MULTI/pipeline (see BatchContext.markSeen). */
  addMarks(commands: ChainableCommander, eventIds: Iterable<string>): void {
    for (const id of eventIds) commands.set(this.keys.seenEvent(id), '1', 'EX', this.ttlSeconds);
  }

  /** Marks ids as handed on; they are forgotten after the dedupe TTL. */
  async markSeen(eventIds: Iterable<string>): Promise<void> {
    await Promise.all([...eventIds].map((id) => this.redis.set(this.keys.seenEvent(id), '1', 'EX', this.ttlSeconds)));
  }
}
