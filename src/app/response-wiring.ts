import { createHash } from 'node:crypto';
import type { Kafka } from 'kafkajs';
import type { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import type { ValidEvent } from '../../processors/core/events.ts';
import type { Finding } from '../../processors/core/finding.ts';
import type { BreakerStore } from '../breakers/breaker-store.ts';
import type { BreakerPolicy } from '../breakers/breaker-policy.ts';
import { decideTrips, reasonOf } from '../breakers/decide-trips.ts';
import { scopeIdProblem } from '../breakers/state.ts';
import { forwardTransitions } from '../breakers/transition-forwarder.ts';
import { TRANSITION_CAUSES } from '../breakers/transition.ts';
import type { Config } from '../config/config.ts';
import { checkCompensationPolicy, type CompensationPolicy } from '../compensation/compensation-policy.ts';
import { CommandRelay } from '../compensation/command-relay.ts';
import { compensationOutcomes, planCompensation } from '../compensation/plan-compensation.ts';
import { inOrderPerKey } from '../redis/in-order-per-key.ts';
import { SagaStore, type Saga } from '../compensation/saga-store.ts';
import { WebhookExecutor } from '../compensation/webhook-executor.ts';
import { checkNotificationPolicy, type NotificationPolicy } from '../notify/notification-policy.ts';
import { Notifier } from '../notify/notifier.ts';
import type { Mailer } from '../notify/email-transport.ts';
import { createKafka } from '../kafka/kafka-client.ts';
import { startFindingConsumer } from './finding-consumer.ts';
import type { Logger } from '../observability/logger.ts';
import type { ResponseMetrics } from '../observability/response-metrics.ts';
import type { Policy } from '../policy/load-policy.ts';
import type { RedisClient } from '../redis/connection.ts';
import type { KeyBuilder } from '../redis/keys.ts';

export interface ResponderDeps {
  config: Config;
  redis: RedisClient;
  keys: KeyBuilder;
  kafka: Kafka;
  /** The registry to read findings (Avro) with, when there is one. */
  registry?: SchemaRegistry | undefined;
  avro?: { registry: SchemaRegistry; schemaId: number } | undefined;
  breakers: BreakerStore;
  policy: { current(): Policy };
  breakerPolicy: () => BreakerPolicy;
  logger: Logger;
  metrics: ResponseMetrics;
  /** Tests: a mailer of their own. */
  mailer?: Mailer;
  /** Tests: the relay's step reports (the crash test prints them). */
  onRelayStep?: ConstructorParameters<typeof CommandRelay>[0]['onStep'];
  /** Tests: awaited between the relay's commit and its settle. */
  afterRelayCommit?: ConstructorParameters<typeof CommandRelay>[0]['afterCommit'];
}

/**
 * What vigil does about a finding beyond its breakers, and the loops behind it: compensations (sagas
 * in Redis, the command relay to Kafka, outcomes paired from agent.actions, time-outs and escalation,
 * optional webhook executors) and on-call notifications (incidents, the outbox, e-mail, Alertmanager).
 *
 * It reads the findings back from `safety.findings` (a consumer group of its own, committed after
 * each finding's response is in Redis): every finding that reached the topic gets its response, even
 * when the batch that found it died after publishing it. The batch path of the detection stage only
 * calls `onEvents` (Lua scripts); everything that talks to Kafka, SMTP or HTTP runs in background
 * loops started by `start()`.
 */
export class Responder {
  readonly sagas: SagaStore;
  readonly notifier: Notifier;
  readonly relay: CommandRelay;
  readonly webhooks: WebhookExecutor | undefined;
  private readonly d: ResponderDeps;
  private readonly log: Logger;
  private forwarder: { close(): Promise<void> } | undefined;
  private findings: { stop(): Promise<void> } | undefined;
  private cache: { version: string; compensations: CompensationPolicy; notifications: NotificationPolicy } | undefined;

  constructor(d: ResponderDeps) {
    this.d = d;
    this.log = d.logger.child({ component: 'response' });
    const { config } = d;
    this.sagas = new SagaStore(d.redis, d.keys);
    this.notifier = new Notifier({
      redis: d.redis,
      keys: d.keys,
      config,
      policy: () => this.policies().notifications,
      breakers: d.breakers,
      sagas: this.sagas,
      logger: d.logger,
      metrics: d.metrics,
      ...(d.mailer ? { mailer: d.mailer } : {}),
    });
    const group = config.kafka.groupId;
    // The relay's Kafka identities follow the saga namespace (the Redis prefix), not the consumer group.
    const relayId = `vigil.${config.redis.keyPrefix}`;
    this.relay = new CommandRelay({
      // A client of its own: a transaction begun just after the previous one ended is often told
      // CONCURRENT_TRANSACTIONS while the coordinator writes the markers, which kafkajs retries but logs
      // as an error each time.
      kafka: createKafka(config, quietConcurrentTransactions(d.logger), '-compensation-relay'),
      sagas: this.sagas,
      topic: config.kafka.topics.compensations,
      codec: d.avro ? { avro: d.avro } : {},
      transactionalId: `${relayId}.compensation-relay`,
      checkpointGroup: `${relayId}.compensation-checkpoint`,
      policy: () => this.policies().compensations,
      leaseMs: config.compensation.leaseMs,
      pollMs: config.notify.pollMs,
      batchSize: config.compensation.batchSize,
      logger: d.logger,
      metrics: d.metrics,
      onEscalation: (s) => this.escalate(s),
      ...(d.onRelayStep ? { onStep: d.onRelayStep } : {}),
      ...(d.afterRelayCommit ? { afterCommit: d.afterRelayCommit } : {}),
    });
    this.webhooks = Object.keys(config.compensation.webhooks).length > 0
      ? new WebhookExecutor({
          kafka: d.kafka,
          topic: config.kafka.topics.compensations,
          groupId: `${group}.compensation-webhooks`,
          sessionTimeoutMs: config.kafka.sessionTimeoutMs,
          registry: d.avro?.registry,
          webhooks: config.compensation.webhooks,
          timeoutMs: config.compensation.webhookTimeoutMs,
          breakers: d.breakers,
          sagas: this.sagas,
          logger: d.logger,
          onOutcome: (r) => this.countOutcome(r.result, r.compensationKind, r.detectedAt, r.at),
        })
      : undefined;
  }

  /** The compensations and notifications sections of the running policy (parsed once per version). */
  policies(): { compensations: CompensationPolicy; notifications: NotificationPolicy } {
    const p = this.d.policy.current();
    if (this.cache?.version !== p.version) {
      this.cache = {
        version: p.version,
        compensations: checkCompensationPolicy(p.sections.compensations).policy,
        notifications: checkNotificationPolicy(p.sections.notifications).policy,
      };
    }
    return this.cache;
  }

  /**
   * A finding read from safety.findings: its saga and its incident, which the breakers its rule trips
   * hold open (the detection stage trips them; the incident reads their states when it ticks).
   */
  async handleFinding(f: Finding): Promise<void> {
    if (f.shadow) return;
    const d = decideTrips(f, this.d.breakerPolicy(), f.subjects);
    await this.onFinding(f, d.trips.map((t) => `${t.scope}:${t.id}`));
  }

  /**
   * A finding: its saga (if the policy compensates its kind) and its incident.
   * Idempotent: a redelivered finding changes nothing.
   * @param breakers the breakers ("scope:id") that hold its incident open
   */
  async onFinding(f: Finding, breakers: readonly string[]): Promise<void> {
    const { plan, why } = planCompensation(f, this.policies().compensations);
    let saga: string | undefined;
    if (plan?.shadow) {
      this.log.info('shadow compensation rule would ask', { findingId: f.findingId, kind: plan.kind, forEventId: plan.forEventId, vendor: plan.vendor });
    } else if (plan) {
      saga = plan.forEventId;
      if (await this.sagas.open(plan)) {
        this.log.info('compensation requested', { findingId: f.findingId, kind: plan.kind, forEventId: plan.forEventId, vendor: plan.vendor });
        this.relay.poke();
      }
    } else if (f.target !== undefined && !f.shadow) {
      this.log.debug('no compensation', { findingId: f.findingId, why });
    }
    await this.notifier.noteFinding(f, breakers, saga);
  }

  /** The batch's compensation.* events: outcomes of sagas, paired on compensation.forEventId. */
  async onEvents(events: readonly ValidEvent[]): Promise<void> {
    // One saga's outcomes in event order, the sagas side by side: a batch's outcomes cost one round
    // trip per step, not one each (the live profile found them a third of a batch's wall time).
    const outcomes = compensationOutcomes(events);
    const { results, failed, error } = await inOrderPerKey(outcomes, (o) => o.forEventId, (o) => this.sagas.recordOutcome(o));
    outcomes.forEach((o, i) => {
      const r = results[i];
      if (r === undefined) return;
      this.countOutcome(r.result, r.compensationKind, r.detectedAt, o.ts);
      if (r.result === 'succeeded' || r.result === 'failed') this.log.info(`compensation ${r.result}`, { forEventId: o.forEventId, eventId: o.eventId, previous: r.previous });
    });
    if (failed) throw error;
  }

  private countOutcome(result: string, kind: string, detectedAt: number, at: number): void {
    if (result === 'succeeded') {
      this.d.metrics.compensations.inc({ kind, outcome: 'succeeded' });
      if (detectedAt > 0) this.d.metrics.timeToCompensate.observe({ kind }, Math.max(0, at - detectedAt) / 1000);
    } else if (result === 'failed') {
      this.d.metrics.compensations.inc({ kind, outcome: 'failed' });
    }
  }

  /**
   * A saga timed out after its last attempt: a critical notification (a compensation_failed incident
   * on its vendor) and the vendor's breaker. Both are keyed by the saga, so a repeat changes nothing.
   */
  async escalate(s: Saga): Promise<void> {
    const c = s.command;
    const findingId = 'f_esc_' + createHash('sha256').update(`${s.forEventId}\0${s.findingId}`).digest('hex').slice(0, 32);
    const now = await this.sagas.redisNow();
    const f: Finding = {
      findingId,
      kind: 'compensation_failed',
      severity: 'critical',
      scope: { type: 'vendor', id: c.vendor },
      detectedAt: new Date(now).toISOString(),
      eventIds: [s.forEventId],
      ruleId: 'compensation_escalation',
      policyVersion: c.policyVersion,
      shadow: false,
      summary: `vendor ${c.vendor}: the ${c.kind} compensation of event ${s.forEventId} (${c.action}, finding ${c.findingId}, ${c.findingKind}) got no outcome after ${s.attempts} attempts; the user may still be charged or booked: handle it by hand`,
      target: { eventId: s.forEventId, action: c.action, vendor: c.vendor },
    };
    const held: string[] = [];
    if (scopeIdProblem('vendor', c.vendor) === undefined) {
      const settings = this.d.breakerPolicy().rules.vendor_failure_rate?.settings ?? this.d.breakerPolicy().defaults;
      const r = await this.d.breakers.trip('vendor', c.vendor, { findingId, reason: reasonOf(f), settings: { ...settings } });
      if (r.state !== 'closed' && r.state !== 'forced_closed') held.push(`vendor:${c.vendor}`);
    }
    await this.notifier.noteFinding(f, held, s.forEventId);
    this.log.error('compensation escalated', { forEventId: s.forEventId, vendor: c.vendor, attempts: s.attempts, breaker: held[0] ?? null });
  }

  async start(): Promise<void> {
    this.relay.start();
    this.notifier.start();
    await this.webhooks?.start();
    this.findings = await startFindingConsumer({
      kafka: this.d.kafka,
      topic: this.d.config.kafka.topics.findings,
      groupId: `${this.d.config.kafka.groupId}.response`,
      sessionTimeoutMs: this.d.config.kafka.sessionTimeoutMs,
      registry: this.d.registry,
      logger: this.d.logger,
      handle: (f) => this.handleFinding(f),
    });
    if (this.notifier.enabled) {
      this.forwarder = await forwardTransitions({
        redis: this.d.redis,
        keys: this.d.keys,
        causes: TRANSITION_CAUSES,
        publish: (t) => this.notifier.onBreakerTransition(t),
      });
    }
  }

  async stop(): Promise<void> {
    await this.findings?.stop();
    await Promise.all([this.relay.stop(), this.notifier.stop(), this.webhooks?.stop()]);
    await this.forwarder?.close();
  }
}

/** A logger that demotes kafkajs's reports of a CONCURRENT_TRANSACTIONS answer (retried by kafkajs) to debug. */
function quietConcurrentTransactions(log: Logger): Logger {
  const concurrent = (msg: string, f?: Record<string, unknown>) => /concurrent operation on the same transaction/.test(`${msg} ${String(f?.error ?? '')}`);
  const wrap = (l: Logger): Logger => ({
    debug: (m, f) => l.debug(m, f),
    info: (m, f) => l.info(m, f),
    warn: (m, f) => (concurrent(m, f) ? l.debug(m, f) : l.warn(m, f)),
    error: (m, f) => (concurrent(m, f) ? l.debug(m, f) : l.error(m, f)),
    child: (f) => wrap(l.child(f)),
  });
  return wrap(log);
}
