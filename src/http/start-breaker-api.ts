import { BreakerStore } from '../breakers/breaker-store.ts';
import type { BreakerTransition } from '@vigil/breaker-client/protocol';
import { createBreakerClient } from '@vigil/breaker-client';
import type { Config } from '../config/config.ts';
import { connectRedis, redisConnectionOf, type RedisClient } from '../redis/connection.ts';
import { KeyBuilder } from '../redis/keys.ts';
import type { Logger } from '../observability/logger.ts';
import type { IngestMetrics } from '../observability/metrics.ts';
import { degradedCheckRecorder } from './degraded-checks.ts';
import { startHttpServer, type HttpDeps } from './http-server.ts';
import { createConsoleRoutes } from './console-routes.ts';

/**
 * The breaker HTTP API wired from configuration (config.http host, port, tokens and fail mode;
 * config.redis): what `vigil run` starts next to the monitor. Pass the monitor's Redis client to share
 * it, its publishTransition to send operator transitions to Kafka as well, and its metrics and logger to
 * count and log the checks answered by the fail mode.
 */
export async function startBreakerApi(
  config: Config,
  opts: { redis?: RedisClient; publishTransition?: (t: BreakerTransition) => Promise<void> | void; metrics?: IngestMetrics; logger?: Logger; status?: () => unknown; dependencies?: HttpDeps['dependencies'] } = {},
): Promise<{ port: number; store: BreakerStore; close(): Promise<void> }> {
  const redis = opts.redis ?? connectRedis({ ...redisConnectionOf(config), connectionName: 'vigil-http' });
  // Its own client's connection errors surface as degraded checks (counted, logged) and in /readyz.
  if (!opts.redis) redis.on('error', () => {});
  const keys = new KeyBuilder(config.redis.keyPrefix);
  const store = new BreakerStore({ redis, keys, writeDeadlineMs: config.http.adminWriteDeadlineMs, ...(opts.publishTransition ? { publishTransition: opts.publishTransition } : {}) });
  const checker = createBreakerClient({
    redis,
    keyPrefix: config.redis.keyPrefix,
    failMode: { default: config.http.failMode.default, perScope: { ...config.http.failMode.perScope } },
    onDegraded: degradedCheckRecorder({ ...(opts.metrics ? { metrics: opts.metrics } : {}), ...(opts.logger ? { logger: opts.logger } : {}) }),
  });
  const operatorConsole = createConsoleRoutes(config, store);
  const server = await startHttpServer({
    store,
    checker,
    adminToken: config.http.adminToken,
    clientToken: config.http.clientToken,
    host: config.http.host,
    port: config.http.port,
    adminRateLimit: { perMinute: config.http.adminRatePerMinute, burst: config.http.adminBurst },
    ...(opts.status ? { details: opts.status } : {}),
    routes: operatorConsole.handle,
    ...(opts.logger ? { logger: opts.logger } : {}),
    ...(opts.dependencies ? { dependencies: opts.dependencies } : {}),
  });
  return {
    port: server.port,
    store,
    async close() {
      await operatorConsole.close();
      await server.close();
      await checker.close();
      if (!opts.redis) redis.disconnect();
    },
  };
}
