import { readFileSync } from 'node:fs';
import { Redis, Cluster, type RedisOptions } from 'ioredis';
import type { Config } from '../config/config.ts';
import { VigilError } from '../errors/vigil-error.ts';
import { redact } from '../observability/redact.ts';
import { backoffDelay } from '../errors/retry-policy.ts';
import { settlesWithin } from '../errors/timeout.ts';
import { registerScripts, variableKeyCommands } from './scripts.ts';

export type RedisClient = Redis | Cluster;

/**
 * Whether `redis` is a Redis Cluster client: a command's (or a script's) keys must then share one slot,
 * so per-slot groups (hash-tag buckets) go in separate commands. On a single node they may go in one.
 */
export function isCluster(redis: RedisClient): redis is Cluster {
  return 'isCluster' in redis && (redis as Cluster).isCluster === true;
}

export interface RedisConnectionOptions {
  /** redis://host:port[/db], rediss://…; several comma-separated URLs, or `cluster: true`, make a Cluster client. */
  url: string;
  cluster?: boolean;
  /** Name shown in CLIENT LIST, e.g. vigil-monitor. */
  connectionName?: string;
  /** Fail commands at once while disconnected instead of queueing them (the client's fail-open/closed path). */
  failFast?: boolean;
  /** ACL user and password (AUTH); they win over any in the URL. */
  username?: string | undefined;
  password?: string | undefined;
  /** A PEM CA file to trust for TLS (rediss://, or TLS on any URL when given). */
  tlsCaFile?: string | undefined;
}

/** The connection settings of a configuration (spread them into connectRedis's options). */
export function redisConnectionOf(config: Config): Pick<RedisConnectionOptions, 'url' | 'cluster' | 'username' | 'password' | 'tlsCaFile'> {
  const { url, cluster, username, password, tlsCaFile } = config.redis;
  return { url, cluster, username, password, tlsCaFile };
}

/**
 * Makes the ioredis client (single node or Cluster) with vigil's Lua scripts registered on it.
 * Commands issued while Redis is unreachable are retried by ioredis until it comes back (the pipeline
 * pauses rather than loses work), unless failFast is set.
 */
export function connectRedis(opts: RedisConnectionOptions): RedisClient {
  const urls = opts.url.split(',').map((u) => u.trim()).filter(Boolean);
  const first = new URL(urls[0] ?? 'redis://127.0.0.1:6379');
  // Explicit credentials win over the URL's (ioredis would let the URL's win): take them out of it.
  const explicit = opts.username !== undefined || opts.password !== undefined;
  const auth: RedisOptions = explicit
    ? { ...(opts.username ? { username: opts.username } : {}), ...(opts.password ? { password: opts.password } : {}) }
    : { ...(first.username ? { username: decodeURIComponent(first.username) } : {}), ...(first.password ? { password: decodeURIComponent(first.password) } : {}) };
  const tls = opts.tlsCaFile ? { tls: { ca: readFileSync(opts.tlsCaFile, 'utf8') } } : first.protocol === 'rediss:' ? { tls: {} } : {};
  const common: RedisOptions = {
    ...auth,
    ...tls,
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
    const bare = new URL(first.href);
    bare.username = '';
    bare.password = '';
    client = new Redis(bare.href, common);
  }
  registerScripts(client);
  return client;
}

/**
 * Waits until the client is ready, up to `timeoutMs`, failing at once with a clear, non-retriable error
 * when Redis refuses its credentials or its ACL user (WRONGPASS, NOAUTH, NOPERM): a wrong password is
 * found at start, not as a stall later. Unreachable past the timeout: resolves anyway (commands wait
 * and retry, as during an outage).
 */
export async function checkRedisCredentials(client: RedisClient, what: string, timeoutMs = 5000): Promise<void> {
  if (client.status === 'ready') return;
  let stopListening = () => {};
  const ready = new Promise<void>((resolve, reject) => {
    const onError = (e: Error) => {
      if (!/WRONGPASS|NOAUTH|NOPERM|invalid password|invalid username/i.test(String(e?.message))) return;
      reject(new RedisAuthError(`Redis (${redact(what)}) refused vigil's credentials: ${e.message}. Check REDIS_USERNAME, REDIS_PASSWORD(_FILE) or the URL, and the ACL user's rights (SECURITY.md)`, e));
    };
    const onReady = () => resolve();
    client.on('ready', onReady);
    client.on('error', onError);
    stopListening = () => {
      client.off('ready', onReady);
      client.off('error', onError);
    };
  });
  try {
    await settlesWithin(ready, timeoutMs);
  } finally {
    stopListening();
  }
}

/** Redis refused the credentials or the ACL user's rights: a configuration problem, not an outage. */
export class RedisAuthError extends VigilError {
  constructor(message: string, cause: unknown) {
    super(message, { retriable: false, cause });
  }
}
