import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ALL_DETECTORS } from '../../processors/registry.ts';
import type { Finding } from '../../processors/core/finding.ts';
import type { Config } from '../config/config.ts';
import { ConfigError } from '../errors/vigil-error.ts';
import type { Logger } from '../observability/logger.ts';
import { createDetectionHandler } from '../detection/detection-handler.ts';
import type { FindingSink } from '../detection/finding-sink.ts';
import { KafkaFindingPublisher } from '../kafka/finding-publisher.ts';
import { PolicyHolder } from '../policy/policy-holder.ts';
import { BreakerStore } from '../breakers/breaker-store.ts';
import { checkBreakerPolicy, validateBreakerSection, type BreakerPolicy } from '../breakers/breaker-policy.ts';
import { applyFinding } from '../breakers/apply-finding.ts';
import type { BatchHandler } from '../ingest/batch-handler.ts';
import type { HandlerContext, MonitorOptions } from './monitor.ts';

const BUNDLED_POLICY = fileURLToPath(new URL('../../vigil.policy.yaml', import.meta.url));

/** The policy file to run: the configured path, or the bundled default when the default name is absent here. */
export function resolvePolicyPath(config: Config): string {
  if (existsSync(config.policyPath)) return config.policyPath;
  if (config.policyPath === 'vigil.policy.yaml') return BUNDLED_POLICY;
  throw new ConfigError(`policy file ${config.policyPath} (VIGIL_POLICY) does not exist`);
}

/** Loads the policy (refused at start when invalid) with the breakers section validated too. */
export function loadPolicyHolder(config: Config): PolicyHolder {
  return new PolicyHolder(resolvePolicyPath(config), { detectors: ALL_DETECTORS, env: config.env, sectionValidators: { breakers: validateBreakerSection } });
}

export function breakerPolicyOf(holder: PolicyHolder): BreakerPolicy {
  return checkBreakerPolicy(holder.current().sections.breakers ?? {}).policy;
}

/**
 * The stage after ingest in `vigil run`: every detector, live, with state in Redis; its findings are
 * published to `safety.findings` and applied to the circuit breakers (whose transitions go to
 * `safety.breaker-transitions` and Redis pub/sub). Every effect is keyed by findingId, so a retried
 * batch repeats none. The policy reloads on SIGHUP or file change; a bad file is refused and logged.
 */
export function detectionHandlerFactory(config: Config, logger: Logger, hooks: { onFinding?: (f: Finding) => void } = {}): MonitorOptions['handler'] {
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
    const breakers = new BreakerStore({ redis: ctx.redis, keys: ctx.keys, publishTransition: ctx.publishTransition });

    const sink: FindingSink = {
      async publish(batch) {
        await findings.publish(batch);
        ctx.observability?.findings.published(batch);
        const breakerPolicy = breakerPolicyOf(policy);
        for (const f of batch) {
          ctx.metrics.findings.inc({ kind: f.kind, severity: f.severity, shadow: String(f.shadow) });
          hooks.onFinding?.(f);
          const { decision } = await applyFinding(breakers, f, breakerPolicy, f.subjects);
          if (decision.shadow.length) log.info('shadow rule would trip', { findingId: f.findingId, breakers: decision.shadow.map((t) => `${t.scope}:${t.id}`) });
        }
      },
    };
    const handler = createDetectionHandler({
      redis: ctx.redis,
      keys: ctx.keys,
      policy,
      detectors: ALL_DETECTORS,
      sink,
      // Until every partition of the input has reported a watermark (or stayed quiet), none settles a decision.
      expectedPartitions: ctx.inputPartitions,
    });
    return {
      marksSeen: handler.marksSeen,
      handle: (events, bctx) => handler.handle(events, bctx),
      async close() {
        policy.close();
        await handler.close?.();
      },
    };
  };
}
