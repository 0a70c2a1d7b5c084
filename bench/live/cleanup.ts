import type { Admin } from 'kafkajs';
import { Cluster } from 'ioredis';
import { connectRedis } from '../../src/redis/connection.ts';

/** Deletes every Redis key under `prefix:` (a run's seen-markers, detector state, breakers). */
export async function forgetPrefix(url: string, prefix: string): Promise<number> {
  const redis = connectRedis({ url, connectionName: 'vigil-bench-cleanup' });
  let n = 0;
  try {
    const nodes = redis instanceof Cluster ? redis.nodes('master') : [redis];
    for (const node of nodes) {
      let cursor = '0';
      do {
        const [next, keys] = await node.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 5000);
        if (keys.length > 0) n += await node.unlink(...keys);
        cursor = next;
      } while (cursor !== '0');
    }
  } finally {
    redis.disconnect();
  }
  return n;
}

/** Deletes the bench's topics (names starting with `<id>.`) from the shared Kafka. */
export async function deleteTopics(admin: Admin, id: string): Promise<number> {
  const topics = (await admin.listTopics()).filter((t) => t.startsWith(`${id}.`));
  if (topics.length > 0) await admin.deleteTopics({ topics, timeout: 30_000 });
  return topics.length;
}
