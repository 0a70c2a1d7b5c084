import type { Admin, Kafka } from 'kafkajs';
import type { Config } from '../config/config.ts';
import type { BatchHandler } from '../ingest/batch-handler.ts';
import type { RedisClient } from '../redis/connection.ts';
import type { KeyBuilder } from '../redis/keys.ts';
import { BreakerStateCollector } from './breaker-state-collector.ts';
import { ConsumerLagMonitor } from './consumer-lag.ts';
import { FindingObserver } from './finding-observer.ts';
import type { Logger } from './logger.ts';
import type { IngestMetrics } from './metrics.ts';
import { MonitorMetrics } from './monitor-metrics.ts';
import { observeHandler } from './observed-handler.ts';
import { startTracing, type Tracing } from './tracing.ts';

/** The monitor's observability beyond IngestMetrics, built once in startMonitor and handed down. */
export interface Observability {
  metrics: MonitorMetrics;
  /** Call with findings once they are published: detection latency and finding spans. */
  findings: FindingObserver;
  breakers: BreakerStateCollector;
  /** Tracing, when `tracing.enabled`. */
  tracing: Tracing | undefined;
  /** Wraps the stage after ingest: KPI counts, batch sizes, batch spans (observed-handler.ts). */
  observe(handler: BatchHandler): BatchHandler;
  /** Starts reading the consumer lag on its interval (call once the consumer runs). */
  startLag(): void;
  /** Stops the lag reader and flushes and stops tracing. */
  stop(): Promise<void>;
}

export interface ObservabilityDeps {
  ingest: IngestMetrics;
  redis: RedisClient;
  keys: KeyBuilder;
  kafka: Kafka;
  logger: Logger;
}

/** Wires metrics, the breaker collector, the lag reader and (when on) tracing for `vigil run`. */
export async function startObservability(config: Config, deps: ObservabilityDeps): Promise<Observability> {
  const log = deps.logger.child({ component: 'observability' });
  const registry = deps.ingest.registry;
  const metrics = new MonitorMetrics(registry, { redisReady: () => deps.redis.status === 'ready' });
  metrics.initZero(deps.ingest, config.kafka.topics.actions);
  deps.redis.on('error', () => metrics.pipeline.redisErrors.inc({ kind: 'connection' }));
  const breakers = new BreakerStateCollector({
    redis: deps.redis,
    keys: deps.keys,
    registry,
    maxAgeMs: config.metrics.breakerMaxAgeMs,
    scanLimit: config.metrics.breakerScanLimit,
    topN: config.metrics.breakerTopN,
  });
  const tracing = await startTracing(config.tracing, log);
  let admin: Admin | undefined;
  let lag: ConsumerLagMonitor | undefined;
  return {
    metrics,
    findings: new FindingObserver({ detection: metrics.detection, tracing }),
    breakers,
    tracing,
    observe: (handler) => observeHandler(handler, { detection: metrics.detection, pipeline: metrics.pipeline, groupId: config.kafka.groupId, tracing }),
    startLag() {
      if (lag) return;
      admin = deps.kafka.admin();
      lag = new ConsumerLagMonitor({ admin, topic: config.kafka.topics.actions, groupId: config.kafka.groupId, metrics: metrics.pipeline, intervalMs: config.metrics.lagIntervalMs, logger: log });
      const started = lag;
      // The first read connects; a broker that is down now is retried on the next interval.
      admin.connect().then(() => started.start(), (e: Error) => {
        log.warn('consumer lag reader could not connect; retrying on its interval', { error: e });
        started.start();
      });
    },
    async stop() {
      await lag?.stop();
      await admin?.disconnect().catch(() => {});
      if (tracing) {
        await tracing.flush().catch(() => {});
        await tracing.shutdown().catch(() => {});
      }
    },
  };
}
