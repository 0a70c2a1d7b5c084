import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/**
 * Pipeline metrics beside IngestMetrics: batch sizes, consumer lag per partition (read from the broker
 * on an interval by consumer-lag.ts), and Redis errors. Partition labels are bounded by the input
 * topic's partition count.
 */
export class PipelineMetrics {
  /** Messages per Kafka batch. */
  readonly batchMessages: Histogram<'topic'>;
  /** Input messages not yet committed by the consumer group, per partition. */
  readonly consumerLag: Gauge<'topic' | 'partition'>;
  /** When the lag was last read successfully (epoch seconds). */
  readonly consumerLagUpdated: Gauge;
  /** Lag reads that failed (the broker or the admin client). */
  readonly consumerLagErrors: Counter;
  /** Redis errors: `connection` (the client lost or could not reach Redis), `command` (a batch failed on Redis and is retried). */
  readonly redisErrors: Counter<'kind'>;
  /** 1 while the monitor's Redis client is connected and ready. */
  readonly redisUp: Gauge;

  constructor(registry: Registry, redisReady: () => boolean = () => true) {
    const r = [registry];
    this.batchMessages = new Histogram({
      name: 'vigil_batch_messages',
      help: 'Messages per Kafka batch read from the input topic.',
      labelNames: ['topic'],
      buckets: [1, 10, 50, 100, 250, 500, 1000, 2500, 5000, 10000],
      registers: r,
    });
    this.consumerLag = new Gauge({ name: 'vigil_consumer_lag_messages', help: "Messages of the input topic the consumer group has not committed yet, per partition (the partition's end offset minus the group's committed offset).", labelNames: ['topic', 'partition'], registers: r });
    this.consumerLagUpdated = new Gauge({ name: 'vigil_consumer_lag_updated_timestamp_seconds', help: 'Wall-clock time of the last successful consumer lag read.', registers: r });
    this.consumerLagErrors = new Counter({ name: 'vigil_consumer_lag_errors_total', help: 'Consumer lag reads that failed.', registers: r });
    this.redisErrors = new Counter({ name: 'vigil_redis_errors_total', help: 'Redis errors, by kind: connection (the client lost or could not reach Redis), command (a batch failed on Redis and is retried).', labelNames: ['kind'], registers: r });
    this.redisUp = new Gauge({
      name: 'vigil_redis_up',
      help: "1 while the monitor's Redis client is connected and ready, else 0.",
      registers: r,
      collect() {
        this.set(redisReady() ? 1 : 0);
      },
    });
    this.redisErrors.inc({ kind: 'connection' }, 0);
    this.redisErrors.inc({ kind: 'command' }, 0);
    this.consumerLagErrors.inc(0);
  }
}

/** Whether a batch failure came from Redis (the detector store, a breaker script, the client itself). */
export function isRedisFailure(e: unknown): boolean {
  const err = e as { name?: unknown; code?: unknown; message?: unknown } | null;
  if (!err || typeof err !== 'object') return false;
  const name = String(err.name ?? '');
  if (name === 'DetectionStoreError' || name === 'ReplyError' || name === 'MaxRetriesPerRequestError' || /Redis/.test(name)) return true;
  if (name === 'BreakerError' && err.code === 'redis_unreachable') return true;
  return /\bRedis\b|Connection is closed/.test(String(err.message ?? ''));
}
