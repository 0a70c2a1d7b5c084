import type { Cluster, Redis } from 'ioredis';
import { VigilError } from '../errors/vigil-error.ts';
import { isCluster, type RedisClient } from './connection.ts';

/**
 * "Done" markers of side effects (KeyBuilder.findingEffect keys, one slot each), a batch at a time:
 * which exist in one round trip (one MGET on a single node; on a Cluster one GET each, auto-pipelined
 * into one round trip per node), and set in one round trip (a pipeline; per node on a Cluster).
 */
export class EffectMarkers {
  private readonly redis: RedisClient;
  constructor(redis: RedisClient) {
    this.redis = redis;
  }

  /** present[i]: whether markers[i] exists. */
  async present(markers: readonly string[]): Promise<boolean[]> {
    if (markers.length === 0) return [];
    const values = isCluster(this.redis) ? await Promise.all(markers.map((k) => this.redis.get(k))) : await (this.redis as Redis).mget(...markers);
    return values.map((v) => v !== null);
  }

  /** Sets every marker to '1' for ttlSeconds. */
  async mark(markers: readonly string[], ttlSeconds: number): Promise<void> {
    if (markers.length === 0) return;
    if (isCluster(this.redis)) {
      await Promise.all(markers.map((k) => this.redis.set(k, '1', 'EX', ttlSeconds)));
      return;
    }
    const pipe = (this.redis as Redis).pipeline();
    for (const k of markers) pipe.set(k, '1', 'EX', ttlSeconds);
    const res = await pipe.exec();
    if (res === null) throw new VigilError('Redis discarded the pipeline writing effect markers', { retriable: true });
    for (const [err] of res) if (err) throw err;
  }
}
