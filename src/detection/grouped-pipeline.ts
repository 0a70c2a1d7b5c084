import type { ChainableCommander } from 'ioredis';
import type { RedisClient } from '../redis/connection.ts';
import { DetectionStoreError } from './detection-store-error.ts';

/**
 * Commands grouped by hash tag: one pipeline on a single node; on a Cluster one pipeline per tag (every
 * key of a tag is in one slot), all sent at once. Results come back in the order they were added.
 */
export class GroupedPipeline {
  private readonly groups = new Map<string, { pipe: ChainableCommander; at: number[] }>();
  private n = 0;
  private readonly redis: RedisClient;
  private readonly cluster: boolean;
  private readonly timeoutMs: number;

  constructor(redis: RedisClient, cluster: boolean, timeoutMs: number) {
    this.redis = redis;
    this.cluster = cluster;
    this.timeoutMs = timeoutMs;
  }

  add(tag: string, build: (p: ChainableCommander) => void): void {
    const g = this.cluster ? tag : '';
    let group = this.groups.get(g);
    if (!group) {
      group = { pipe: this.redis.pipeline(), at: [] };
      this.groups.set(g, group);
    }
    build(group.pipe);
    group.at.push(this.n++);
  }

  async exec(what: string): Promise<unknown[]> {
    const out: unknown[] = new Array(this.n);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new DetectionStoreError(`Redis did not answer within ${this.timeoutMs} ms (${what})`)), this.timeoutMs);
    });
    try {
      await Promise.race([
        Promise.all(
          [...this.groups.values()].map(async ({ pipe, at }) => {
            const res = await pipe.exec();
            if (res === null) throw new DetectionStoreError(`Redis pipeline was discarded (${what})`);
            res.forEach(([err, value], i) => {
              if (err) throw err;
              out[at[i]!] = value;
            });
          }),
        ),
        timeout,
      ]);
    } catch (e) {
      if (e instanceof DetectionStoreError) throw e;
      throw new DetectionStoreError(`Redis failed to ${what}: ${(e as Error).message}`, e);
    } finally {
      clearTimeout(timer);
    }
    return out;
  }
}
