import { existsSync } from 'node:fs';
import { ALL_DETECTORS } from '../../processors/registry.ts';
import type { Finding } from '../../processors/core/finding.ts';
import type { Config } from '../config/config.ts';
import { ConfigError } from '../errors/vigil-error.ts';
import { checkPartitionLayout } from '../detection/partition-layout.ts';
import type { Logger } from '../observability/logger.ts';
import { createDetectionHandler } from '../detection/detection-handler.ts';
import { OUT_OF_BOUNDS_REASON, type RefusedEvent } from '../detection/held-events.ts';
import { WatermarkMonitor } from '../detection/watermark-monitor.ts';
import { sendToDeadLetter } from '../ingest/dead-letter.ts';
import { WatermarkMetrics } from '../observability/watermark-metrics.ts';
import { KafkaFindingPublisher } from '../kafka/finding-publisher.ts';
import { PolicyHolder } from '../policy/policy-holder.ts';
import { BreakerStore } from '../breakers/breaker-store.ts';
import { checkBreakerPolicy, type BreakerPolicy } from '../breakers/breaker-policy.ts';
import { FindingBreakers } from '../breakers/finding-breakers.ts';
import { ResponseMetrics } from '../observability/response-metrics.ts';
import { policySectionValidators, recipientGroups } from './policy-sections.ts';
import { Responder, type ResponderDeps } from './response-wiring.ts';
import type { BatchHandler } from '../ingest/batch-handler.ts';
import type { HandlerContext, MonitorOptions } from './monitor.ts';
import { BUNDLED_POLICY_PATH } from '../policy/bundled-policy.ts';

/** The policy file to run: the configured path, or the bundled default when the default name is absent here. */
export function resolvePolicyPath(config: Config): string {
  if (existsSync(config.policyPath)) return config.policyPath;
  if (config.policyPath === 'vigil.policy.yaml') return BUNDLED_POLICY_PATH;
  throw new ConfigError(`policy file ${config.policyPath} (VIGIL_POLICY) does not exist`);
}

/** Loads the policy (refused at start when invalid) with the breakers, compensations and notifications sections validated too. */
export function loadPolicyHolder(config: Config): PolicyHolder {
  return new PolicyHolder(resolvePolicyPath(config), { detectors: ALL_DETECTORS, env: config.env, sectionValidators: policySectionValidators(recipientGroups(config)) });
}

export function breakerPolicyOf(holder: PolicyHolder): BreakerPolicy {
  return checkBreakerPolicy(holder.current().sections.breakers ?? {}).policy;
}

/** What tests (and embedders) can hook into the detection stage. */
export interface DetectionHooks {
  onFinding?: (f: Finding) => void;
  /** Called with the responder (sagas, notifier, relay) once it runs. */
  onResponder?: (r: Responder) => void;
  /** A mailer of the caller's own instead of nodemailer on smtp.url. */
  mailer?: ResponderDeps['mailer'];
  onRelayStep?: ResponderDeps['onRelayStep'];
  afterRelayCommit?: ResponderDeps['afterRelayCommit'];
}

/**
 * The stage after ingest in `vigil run`: every detector, live, with state in Redis; its findings are
 * published to `safety.findings` and applied to the circuit breakers (whose transitions go to
 * `safety.breaker-transitions` and Redis pub/sub). The responder reads `safety.findings` back and acts
 * on each finding: compensations (sagas, commands to `safety.compensations`) and on-call notifications
 * (e-mail, Alertmanager); the batch's compensation.* events settle their sagas. Every effect is keyed
 * by findingId (or by the event to undo), so a retried batch repeats none. The policy reloads on SIGHUP
 * or file change; a bad file is refused and logged.
 */
export function detectionHandlerFactory(config: Config, logger: Logger, hooks: DetectionHooks = {}): MonitorOptions['handler'] {
  return async (ctx: HandlerContext): Promise<BatchHandler> => {
    const log = logger.child({ component: 'detection' });
    const policy = loadPolicyHolder(config);
    log.info('policy loaded', { file: policy.path, version: policy.current().version });
    policy.onChange((next, prev) => log.info('policy reloaded', { file: policy.path, version: next.version, previous: prev.version }));
    policy.onReject((e) => log.error('policy file refused; the running policy stays', { file: policy.path, version: policy.current().version, error: e }));
    policy.watch();

    const findings = new KafkaFindingPublisher({
      producer: ctx.producer,
      topic: config.kafka.topics.findings,
      ...(ctx.schemas ? { avro: { registry: ctx.schemas.registry, schemaId: ctx.schemas.ids.finding! } } : {}),
      redis: ctx.redis,
      keys: ctx.keys,
    });
    const breakers = new BreakerStore({ redis: ctx.redis, keys: ctx.keys, publishTransition: ctx.transitions.one });
    const commandSchema = ctx.schemas?.ids['compensation-command'];
    const responder = new Responder({
      config,
      redis: ctx.redis,
      keys: ctx.keys,
      kafka: ctx.kafka,
      registry: ctx.schemas?.registry,
      avro: ctx.schemas && commandSchema !== undefined ? { registry: ctx.schemas.registry, schemaId: commandSchema } : undefined,
      breakers,
      policy,
      breakerPolicy: () => breakerPolicyOf(policy),
      logger,
      metrics: ctx.observability?.metrics.response ?? ResponseMetrics.on(ctx.metrics.registry),
      ...(hooks.mailer ? { mailer: hooks.mailer } : {}),
      ...(hooks.onRelayStep ? { onRelayStep: hooks.onRelayStep } : {}),
      ...(hooks.afterRelayCommit ? { afterRelayCommit: hooks.afterRelayCommit } : {}),
    });
    await responder.start();
    hooks.onResponder?.(responder);

    // Findings → breakers: one produce of findings, trips concurrent across breakers, one produce of transitions.
    const sink = new FindingBreakers({
      findings,
      breakers: new BreakerStore({ redis: ctx.redis, keys: ctx.keys }),
      transitions: ctx.transitions,
      policy: () => breakerPolicyOf(policy),
      onPublished(batch) {
        ctx.observability?.findings.published(batch);
        for (const f of batch) {
          ctx.metrics.findings.inc({ kind: f.kind, severity: f.severity, shadow: String(f.shadow) });
          hooks.onFinding?.(f);
        }
      },
      onShadow: (f, would) => log.info('shadow rule would trip', { findingId: f.findingId, breakers: would.map((t) => `${t.scope}:${t.id}`) }),
    });
    // The watermark metrics are the monitor's (observability); a bare context gets its own on the same registry.
    const watermarkMetrics = ctx.observability?.metrics.watermark ?? new WatermarkMetrics(ctx.metrics.registry);
    // Events refused for their event time (a hostile clock) go to the dead-letter topic like bad ones.
    const deadLetter = async (refused: readonly RefusedEvent[], source: { topic: string; partition: number }) => {
      await sendToDeadLetter(ctx.producer, config.kafka.topics.dlq, source, refused.map((r) => ({ message: r.message, reason: OUT_OF_BOUNDS_REASON, detail: `${r.reason}: ${r.detail}` })));
      for (const r of refused) {
        watermarkMetrics.eventsOutOfBounds.inc({ topic: source.topic, reason: r.reason });
        ctx.metrics.eventsDeadLettered.inc({ topic: source.topic, reason: OUT_OF_BOUNDS_REASON });
      }
      log.warn('events refused for their event time, dead-lettered', { partition: source.partition, count: refused.length, first: { eventId: refused[0]!.eventId, why: `${refused[0]!.reason}: ${refused[0]!.detail}` }, dlq: config.kafka.topics.dlq });
    };
    await checkPartitionLayout(ctx.redis, ctx.keys, config.kafka.topics.actions, ctx.inputPartitions, log);
    const handler = createDetectionHandler({
      redis: ctx.redis,
      keys: ctx.keys,
      policy,
      detectors: ALL_DETECTORS,
      sink,
      // A partition that never spoke holds decisions back only until it is idle (config detection.idlePartitionMs).
      expectedPartitions: ctx.inputPartitions,
      topic: config.kafka.topics.actions,
      idlePartitionMs: config.detection.idlePartitionMs,
      deadLetter,
      logger: log,
    });
    const eventTime = new WatermarkMonitor({ handler, logger, metrics: watermarkMetrics, intervalMs: config.detection.tickMs, stallLogMs: config.detection.stallLogMs });
    eventTime.start();
    return {
      async handle(events, bctx) {
        // Outcomes first: once the detection stage marks these events seen, a redelivery skips them.
        await responder.onEvents(events);
        await handler.handle(events, bctx);
      },
      assigned: (topic, parts) => handler.assigned?.(topic, parts),
      status: () => ({ eventTime: eventTime.status(), ...(eventTime.lastError ? { eventTimeError: eventTime.lastError.message } : {}) }),
      async close() {
        await eventTime.stop();
        policy.close();
        await handler.close?.();
        await responder.stop();
      },
    };
  };
}
