import type { Kafka } from 'kafkajs';
import type { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import type { BreakerStore } from '../breakers/breaker-store.ts';
import { DEFAULT_SETTINGS } from '../breakers/state.ts';
import { eachCommand } from '../kafka/compensation-codec.ts';
import { RestartingConsumer } from '../kafka/restarting-consumer.ts';
import type { Logger } from '../observability/logger.ts';
import type { CompensationCommand } from './plan-compensation.ts';
import type { OutcomeResult, SagaStore } from './saga-store.ts';

export interface WebhookExecutorOptions {
  kafka: Kafka;
  topic: string;
  groupId: string;
  sessionTimeoutMs: number;
  registry: SchemaRegistry | undefined;
  /** vendor → URL (config compensation.webhooks). */
  webhooks: Readonly<Record<string, string>>;
  timeoutMs: number;
  breakers: BreakerStore;
  sagas: SagaStore;
  logger: Logger;
  /** Tries per command (default 3), with backoff from retryBaseMs (default 200). */
  tries?: number;
  retryBaseMs?: number;
  onOutcome?: (r: OutcomeResult & { at: number }) => void;
}

/** The breaker that guards a vendor's webhook: scope action, id `compensation-webhook:<vendor>`. */
export function webhookBreakerId(vendor: string): string {
  return `compensation-webhook:${vendor}`;
}

/**
 * The built-in compensation executor for vendors that take a webhook: it reads the commands
 * (read_committed, its own consumer group, so each command reaches one instance) and POSTs each one
 * whose vendor has a URL, as JSON with an `Idempotency-Key` header, with a timeout and a few tries.
 * A 2xx settles the saga as succeeded, another 4xx as failed (the vendor refused); a webhook that keeps
 * failing trips a vigil breaker of its own (scope action, `compensation-webhook:<vendor>`), and while
 * that is open commands wait: the saga times out and re-sends, and the half-open breaker lets a trial through.
 */
export class WebhookExecutor {
  readonly stats = { posted: 0, succeeded: 0, refused: 0, failed: 0, skipped: 0, denied: 0 };
  private readonly o: WebhookExecutorOptions;
  private readonly log: Logger;
  private consumer: RestartingConsumer | undefined;

  constructor(o: WebhookExecutorOptions) {
    this.o = o;
    this.log = o.logger.child({ component: 'compensation-webhooks' });
  }

  async start(): Promise<void> {
    // restarted after a crash kafkajs does not recover from (restarting-consumer.ts): commands keep being executed
    this.consumer = new RestartingConsumer({
      log: this.log,
      create: () =>
        this.o.kafka.consumer({
          groupId: this.o.groupId,
          readUncommitted: false,
          allowAutoTopicCreation: false,
          sessionTimeout: this.o.sessionTimeoutMs,
          heartbeatInterval: Math.min(3000, Math.floor(this.o.sessionTimeoutMs / 3)),
          maxWaitTimeInMs: 1000,
        }),
      start: async (consumer) => {
        await consumer.connect();
        await consumer.subscribe({ topic: this.o.topic, fromBeginning: true });
        await consumer.run({
          eachMessage: eachCommand(this.o.registry, (c) => this.execute(c), (offset, error) => this.log.error('a compensation command could not be read; skipped', { offset, error })),
        });
      },
    });
    await this.consumer.start();
  }

  async stop(): Promise<void> {
    await this.consumer?.stop();
  }

  /** Executes one command (exported for tests): skips it unless its vendor has a webhook and its saga still waits. */
  async execute(c: CompensationCommand): Promise<'skipped' | 'denied' | 'succeeded' | 'refused' | 'failed'> {
    const url = this.o.webhooks[c.vendor];
    const saga = url ? await this.o.sagas.get(c.forEventId) : undefined;
    if (!url || !saga || saga.state !== 'requested' || saga.attempts > c.attempt) {
      this.stats.skipped++;
      return 'skipped';
    }
    const breakerId = webhookBreakerId(c.vendor);
    const permit = await this.o.breakers.takePermit('action', breakerId);
    if (permit.outcome === 'denied') {
      this.stats.denied++;
      this.log.warn('compensation webhook breaker is open; the saga will re-send', { vendor: c.vendor, commandId: c.commandId, retryAfterMs: permit.retryAfterMs });
      return 'denied';
    }
    const trial = permit.outcome === 'permit';
    const tries = this.o.tries ?? 3;
    let last = '';
    for (let i = 0; i < tries; i++) {
      if (i > 0) await new Promise((r) => setTimeout(r, (this.o.retryBaseMs ?? 200) * 2 ** (i - 1)));
      this.stats.posted++;
      let status = 0;
      try {
        const res = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'idempotency-key': c.idempotencyKey, 'x-vigil-command-id': c.commandId },
          body: JSON.stringify(c),
          signal: AbortSignal.timeout(this.o.timeoutMs),
        });
        status = res.status;
        await res.arrayBuffer().catch(() => undefined);
      } catch (e) {
        last = (e as Error).message;
        continue;
      }
      if (status >= 200 && status < 300) return this.settle(c, 'succeeded', trial);
      if (status >= 400 && status < 500 && status !== 408 && status !== 429) return this.settle(c, 'failed', trial);
      last = `HTTP ${status}`;
    }
    this.stats.failed++;
    if (trial) await this.o.breakers.reportTrial('action', breakerId, false);
    else {
      await this.o.breakers.trip('action', breakerId, {
        findingId: `wh_${c.commandId}`,
        reason: { ruleId: 'compensation_webhook', kind: 'compensation_failed', policyVersion: c.policyVersion, observed: tries, threshold: tries, findingIds: [c.findingId], traceIds: [], summary: `compensation webhook of vendor ${c.vendor} failed ${tries} times: ${last}` },
        settings: { ...DEFAULT_SETTINGS, trials: 1 },
      });
    }
    this.log.error('compensation webhook failed; the saga will re-send', { vendor: c.vendor, commandId: c.commandId, error: last });
    return 'failed';
  }

  private async settle(c: CompensationCommand, outcome: 'succeeded' | 'failed', trial: boolean): Promise<'succeeded' | 'refused'> {
    if (trial) await this.o.breakers.reportTrial('action', webhookBreakerId(c.vendor), true);
    const at = await this.o.sagas.redisNow();
    const r = await this.o.sagas.recordOutcome({ forEventId: c.forEventId, outcome, eventId: `webhook:${c.commandId}`, ts: at });
    this.o.onOutcome?.({ ...r, at });
    if (outcome === 'succeeded') this.stats.succeeded++;
    else this.stats.refused++;
    this.log.info(`compensation webhook ${outcome === 'succeeded' ? 'succeeded' : 'refused by the vendor'}`, { vendor: c.vendor, commandId: c.commandId });
    return outcome === 'succeeded' ? 'succeeded' : 'refused';
  }
}
