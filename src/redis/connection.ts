import { Redis, Cluster, type RedisOptions } from 'ioredis';
import { backoffDelay } from '../errors/retry-policy.ts';
import { registerScripts, variableKeyCommands } from './scripts.ts';

export type RedisClient = Redis | Cluster;

export interface RedisConnectionOptions {
  /** redis://host:port[/db], rediss://…; several comma-separated URLs, or `cluster: true`, make a Cluster client. */
  url: string;
  cluster?: boolean;
  /** Name shown in CLIENT LIST, e.g. vigil-monitor. */
  connectionName?: string;
  /** Fail commands at once while disconnected instead of queueing them (the client's fail-open/closed path). */
  failFast?: boolean;
}

/**
 * Makes the ioredis client (single node or Cluster) with vigil's Lua scripts registered on it.
 * Commands issued while Redis is unreachable are retried by ioredis until it comes back (the pipeline
 * pauses rather than loses work), unless failFast is set.
 */
export function connectRedis(opts: RedisConnectionOptions): RedisClient {
  const urls = opts.url.split(',').map((u) => u.trim()).filter(Boolean);
  const common: RedisOptions = {
    connectionName: opts.connectionName ?? 'vigil',
    lazyConnect: false,
    // Commands issued in the same tick go out as one pipeline per node: a batch's many reads are one
    // round trip on a single node and one per node on a Cluster (where a manual pipeline must stay in one slot).
    enableAutoPipelining: true,
    autoPipeliningIgnoredCommands: variableKeyCommands(),
    maxRetriesPerRequest: opts.failFast ? 0 : null,
    enableOfflineQueue: !opts.failFast,
    // Jittered, so instances that lost Redis together do not reconnect in lockstep.
    retryStrategy: (times) => backoffDelay(times, 50, 2000),
  };
  let client: RedisClient;
  if (opts.cluster || urls.length > 1) {
    const nodes = urls.map((u) => {
      const p = new URL(u);
      return { host: p.hostname, port: Number(p.port || 6379) };
    });
    client = new Cluster(nodes, { redisOptions: common, enableOfflineQueue: !opts.failFast, enableAutoPipelining: true, autoPipeliningIgnoredCommands: variableKeyCommands() });
  } else {
    client = new Redis(urls[0] ?? 'redis://127.0.0.1:6379', common);
  }
  registerScripts(client);
  return client;
}
