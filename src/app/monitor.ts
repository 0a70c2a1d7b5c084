import type { Kafka, Producer } from 'kafkajs';
import { startBreakerApi } from '../http/start-breaker-api.ts';
import { forwardTransitions } from '../breakers/transition-forwarder.ts';
import { AuditRelay } from '../breakers/audit-relay.ts';
import { TransitionPublisher } from '../kafka/transition-publisher.ts';
import { TransitionOutlet } from '../breakers/transition-outlet.ts';
import type { Config } from '../config/config.ts';
import { ensureTopics } from '../kafka/topics.ts';
import { connectAdmin, createKafka, PRODUCER_OPTIONS } from '../kafka/kafka-client.ts';
import { registerSchemas, registryConnection, type RegisteredSchemas } from '../kafka/schema-registry.ts';
import { checkRedisCredentials, connectRedis, redisConnectionOf, type RedisClient } from '../redis/connection.ts';
import { KeyBuilder } from '../redis/keys.ts';
import { EventDedupe } from '../ingest/dedupe.ts';
import { IngestService, type IngestDeps } from '../ingest/ingest-service.ts';
import { CountingHandler, type BatchHandler } from '../ingest/batch-handler.ts';
import type { Logger } from '../observability/logger.ts';
import { IngestMetrics } from '../observability/metrics.ts';
import { startMetricsServer } from '../observability/metrics-server.ts';
import { startObservability, type Observability } from '../observability/observability.ts';
import { DependencyProbe } from '../observability/dependency-probe.ts';
import { dependencyChecks } from './dependency-checks.ts';

/** Topic → Avro schema file stem, registered at start. */
export function schemaSubjects(config: Config): Record<string, string> {
  return {
    'agent-action': config.kafka.topics.actions,
    finding: config.kafka.topics.findings,
    'breaker-transition': config.kafka.topics.breakerTransitions,
    'compensation-command': config.kafka.topics.compensations,
  };
}

/** What the stage after ingest is built from: the monitor's connections, created once. */
export interface HandlerContext {
  redis: RedisClient;
  keys: KeyBuilder;
  kafka: Kafka;
  schemas: RegisteredSchemas | undefined;
  metrics: IngestMetrics;
  /** A connected producer for the monitor's outputs (findings, transitions). */
  producer: Producer;
  /** Sends breaker transitions to `safety.breaker-transitions`, counted and logged (`one` for a single one). */
  transitions: TransitionOutlet;
  /** Partitions of the input topic on the broker. */
  inputPartitions: number;
  /** The monitor's other metrics, the finding observer (latency, finding spans) and tracing when on (startMonitor always sets it). */
  observability?: Observability;
}

export interface MonitorOptions {
  logger: Logger;
  /** The stage after ingest; default: a counter (no detectors). */
  handler?: (ctx: HandlerContext) => Promise<BatchHandler> | BatchHandler;
  onBatchCommitted?: IngestDeps['onBatchCommitted'];
  /** Serve /metrics (default true). */
  serveMetrics?: boolean;
  /** Serve the breaker HTTP API on config.http (default true). */
  serveApi?: boolean;
}

export interface Monitor {
  ingest: IngestService;
  /** What the monitor knows of Kafka, Redis, the registry and SMTP (vigil_dependency_up, /readyz). */
  dependencies: DependencyProbe;
  metrics: IngestMetrics;
  redis: RedisClient;
  keys: KeyBuilder;
  metricsPort: number | undefined;
  apiPort: number | undefined;
  observability: Observability;
  stop(): Promise<void>;
}

/**
 * Wires `vigil run`: Redis, Kafka topics, schemas, the ingest consumer and the metrics endpoint.
 * Everything with I/O is created here and handed down; nothing below reads config or env on its own.
 */
export async function startMonitor(config: Config, opts: MonitorOptions): Promise<Monitor> {
  const log = opts.logger;
  const metrics = new IngestMetrics({ defaultMetrics: true });
  const redis = connectRedis({ ...redisConnectionOf(config), connectionName: 'vigil-monitor' });
  redis.on('error', (e: Error) => log.debug('redis connection error', { error: e })); // outages are reported by the work they stall
  try {
    await checkRedisCredentials(redis, config.redis.url);
  } catch (e) {
    redis.disconnect();
    throw e;
  }
  const keys = new KeyBuilder(config.redis.keyPrefix);
  const kafka = createKafka(config, log);
  const admin = await connectAdmin(kafka, config);
  let inputPartitions: number;
  try {
    ({ actionsPartitions: inputPartitions } = await ensureTopics(admin, config));
  } finally {
    await admin.disconnect();
  }
  const registry = registryConnection(config);
  const schemas = registry ? await registerSchemas(registry, schemaSubjects(config)) : undefined;
  if (schemas) log.info('schemas registered', { registry: config.schemaRegistry.url, ids: schemas.ids });
  else log.warn('no schema registry configured (SCHEMA_REGISTRY_URL): only JSON events can be read');

  const obs = await startObservability(config, { ingest: metrics, redis, keys, kafka, logger: log });
  const probes = dependencyChecks(config, { redis, kafka, registry: schemas?.registry });
  const dependencies = new DependencyProbe({
    checks: probes.checks,
    close: probes.close,
    registry: metrics.registry,
    logger: log,
    intervalMs: config.metrics.dependencyProbeMs,
  });
  dependencies.start();
  const producer = kafka.producer(PRODUCER_OPTIONS);
  await producer.connect();
  const transitions = new TransitionOutlet({
    producer: new TransitionPublisher({
      producer,
      topic: config.kafka.topics.breakerTransitions,
      ...(schemas ? { avro: { registry: schemas.registry, schemaId: schemas.ids['breaker-transition']! } } : {}),
    }),
    observe: (t) => obs.metrics.countTransition(metrics, t),
    logger: log,
  });
  // Transitions that upstream clients make in Redis (a cool-down ending, trial outcomes, an expired
  // override) reach the monitor on pub/sub only; forward them to the Kafka audit trail as well.
  const forwarder = await forwardTransitions({
    redis,
    keys,
    publish: transitions.one,
    onError: (e, message) => log.error('breaker transition from pub/sub not forwarded to Kafka', { error: e, transitionId: transitionIdOf(message), messageBytes: message.length }),
  });
  // Override audit records that their writer did not get onto the audit topic (it crashed, or Kafka was
  // down): published from the Redis outbox by one monitor. Records younger than three write deadlines
  // are left to their writer, who publishes right after the write.
  const auditRelay = new AuditRelay({ redis, keys, publish: transitions.one, logger: log, graceMs: 3 * config.http.adminWriteDeadlineMs });
  auditRelay.start();
  const inner: BatchHandler = opts.handler
    ? await opts.handler({ redis, keys, kafka, schemas, metrics, producer, transitions, inputPartitions, observability: obs })
    : new CountingHandler();
  const handler = obs.observe(inner);
  const ingest = new IngestService({
    config,
    kafka,
    registry: schemas?.registry,
    dedupe: new EventDedupe(redis, keys, config.redis.dedupeTtlSeconds),
    handler,
    metrics,
    logger: log,
    onBatchCommitted: opts.onBatchCommitted,
  });
  const server = opts.serveMetrics === false ? undefined : await startMetricsServer(metrics.registry, config.metrics.host, config.metrics.port);
  if (server) log.info('metrics served', { url: `http://${config.metrics.host}:${server.port}/metrics` });
  const api = opts.serveApi === false ? undefined : await startBreakerApi(config, { redis, publishTransition: transitions.one, metrics, logger: log, status: () => inner.status?.(), dependencies });
  if (api) log.info('breaker API served', { url: `http://${config.http.host}:${api.port}/v1/breakers` });
  await ingest.start();
  obs.startLag();
  let stopped: Promise<void> | undefined;
  return {
    ingest,
    dependencies,
    metrics,
    redis,
    keys,
    metricsPort: server?.port,
    apiPort: api?.port,
    observability: obs,
    stop: () =>
      (stopped ??= (async () => {
        await ingest.stop();
        await obs.stop();
        await api?.close();
        await forwarder.close();
        await auditRelay.stop();
        await dependencies.stop();
        await producer.disconnect();
        await server?.close();
        redis.disconnect();
      })()),
  };
}

/** The transition id of a pub/sub message, for a log line that must not carry the rest (ids of users). */
function transitionIdOf(message: string): string | undefined {
  try {
    const id = (JSON.parse(message) as { transitionId?: unknown }).transitionId;
    return typeof id === 'string' ? id : undefined;
  } catch {
    return undefined;
  }
}
