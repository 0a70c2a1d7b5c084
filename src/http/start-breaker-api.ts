import { BreakerStore } from '../breakers/breaker-store.ts';
import type { BreakerTransition } from '../breakers/transition.ts';
import { createBreakerClient } from '../client/breaker-client.ts';
import type { Config } from '../config/config.ts';
import { connectRedis, redisConnectionOf, type RedisClient } from '../redis/connection.ts';
import { KeyBuilder } from '../redis/keys.ts';
import { startHttpServer } from './http-server.ts';

/**
 * The breaker HTTP API wired from configuration (config.http host, port and admin token; config.redis):
 * what `vigil run` starts next to the monitor. Pass the monitor's Redis client to share it, and its
 * publishTransition to send operator transitions to Kafka as well.
 */
export async function startBreakerApi(
  config: Config,
  opts: { redis?: RedisClient; publishTransition?: (t: BreakerTransition) => Promise<void> | void } = {},
): Promise<{ port: number; store: BreakerStore; close(): Promise<void> }> {
  const redis = opts.redis ?? connectRedis({ ...redisConnectionOf(config), connectionName: 'vigil-http' });
  const keys = new KeyBuilder(config.redis.keyPrefix);
  const store = new BreakerStore({ redis, keys, ...(opts.publishTransition ? { publishTransition: opts.publishTransition } : {}) });
  const checker = createBreakerClient({ redis, keyPrefix: config.redis.keyPrefix, failMode: { default: 'open' } });
  const server = await startHttpServer({
    store,
    checker,
    adminToken: config.http.adminToken,
    host: config.http.host,
    port: config.http.port,
    adminRateLimit: { perMinute: config.http.adminRatePerMinute, burst: config.http.adminBurst },
  });
  return {
    port: server.port,
    store,
    async close() {
      await server.close();
      await checker.close();
      if (!opts.redis) redis.disconnect();
    },
  };
}
