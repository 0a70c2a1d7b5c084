import type { Redis } from 'ioredis';
import type { RedisClient } from './connection.ts';
import type { KeyBuilder } from './keys.ts';

/**
 * A store whose every change is one Lua script: its Redis, its key builder, and the `now` argument
 * those scripts take first: empty in production (the script reads Redis TIME, one clock for every
 * instance), a number of ms from a test's virtual clock.
 */
export abstract class ScriptStore {
  readonly redis: RedisClient;
  readonly keys: KeyBuilder;
  /** Test-only virtual clock; production scripts read Redis TIME. */
  private readonly clock: (() => number) | undefined;

  constructor(redis: RedisClient, keys: KeyBuilder, clock?: () => number) {
    this.redis = redis;
    this.keys = keys;
    this.clock = clock;
  }

  /** The `now` ARGV of a script: '' (Redis TIME) unless a test clock is set. */
  protected now(): string {
    return this.clock ? String(this.clock()) : '';
  }

  /** Now in ms: the test clock, else Redis TIME. */
  async redisNow(): Promise<number> {
    if (this.clock) return this.clock();
    const [s, us] = await (this.redis as Redis).time();
    return Number(s) * 1000 + Math.floor(Number(us) / 1000);
  }
}
