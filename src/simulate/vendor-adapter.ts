import { createHash } from 'node:crypto';
import type { Consumer, Kafka } from 'kafkajs';
import type { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import type { AgentEvent, CompensationKind } from '../../processors/core/events.ts';
import type { CompensationCommand } from '../compensation/plan-compensation.ts';
import { eachCommand } from '../kafka/compensation-codec.ts';
import type { Logger } from '../observability/logger.ts';
import type { TargetContext } from './world.ts';

export interface VendorAdapterOptions {
  kafka: Kafka;
  /** safety.compensations */
  topic: string;
  groupId: string;
  registry: SchemaRegistry | undefined;
  /** The context of the event a command names (the simulator remembers the events it wrote). */
  targetOf: (eventId: string) => TargetContext | undefined;
  /** Sends the adapter's answers to agent.actions. */
  emit: (events: AgentEvent[]) => Promise<void>;
  logger: Logger;
  /** The vendor's answer to a command (default: it succeeds). */
  answer?: (c: CompensationCommand) => 'succeeded' | 'failed';
  /** How long the vendor takes to undo an action (default 400–1500 ms). */
  latencyMs?: () => number;
  onAnswer?: (c: CompensationCommand, result: 'succeeded' | 'failed') => void;
}

/** What the adapter did so far. */
export interface VendorAdapterStats {
  commands: number;
  duplicates: number;
  succeeded: number;
  failed: number;
}

/**
 * A simulated vendor adapter: the other half of vigil's compensations. It reads the commands on
 * `safety.compensations` (kafkajs reads read_committed: an aborted attempt's copy is never seen),
 * undoes the action once per idempotency key, and reports back on `agent.actions` as a vendor's
 * adapter would: `compensation.requested` at once, then `compensation.succeeded` (or `.failed`) when
 * the vendor answered. A command sent again (a re-send after a time-out) gets the same answer under
 * the same event ids, which vigil skips as redeliveries. Commands from before it started (a minute of
 * slack) are left alone: they were some earlier adapter's.
 */
export class VendorAdapter {
  readonly stats: VendorAdapterStats = { commands: 0, duplicates: 0, succeeded: 0, failed: 0 };
  private readonly o: VendorAdapterOptions;
  private consumer: Consumer | undefined;
  private running: Promise<void> | undefined;
  private readonly answered = new Map<string, AgentEvent[]>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly pending = new Set<Promise<void>>();

  constructor(o: VendorAdapterOptions) {
    this.o = o;
  }

  async start(): Promise<void> {
    const notBefore = Date.now() - 60_000;
    const consumer = this.o.kafka.consumer({ groupId: this.o.groupId, maxWaitTimeInMs: 500, allowAutoTopicCreation: false });
    this.consumer = consumer;
    await consumer.connect();
    await consumer.subscribe({ topic: this.o.topic, fromBeginning: true });
    this.running = consumer.run({
      eachMessage: eachCommand(
        this.o.registry,
        async (c) => (Date.parse(c.requestedAt) < notBefore ? undefined : this.handle(c)),
        (offset, error) => this.o.logger.error('vendor adapter: a command could not be read; skipped', { offset, error }),
      ),
    });
    this.running.catch((e: unknown) => this.o.logger.error('vendor adapter: the consumer stopped', { error: e as Error }));
  }

  /** Answers one command (public for tests). */
  async handle(c: CompensationCommand): Promise<void> {
    this.stats.commands++;
    const earlier = this.answered.get(c.idempotencyKey);
    if (earlier) {
      // the same answer again: same event ids, so vigil skips them as redeliveries
      this.stats.duplicates++;
      await this.o.emit(earlier);
      return;
    }
    const result = this.o.answer?.(c) ?? 'succeeded';
    const latency = Math.round(this.o.latencyMs?.() ?? 400 + Math.random() * 1100);
    const now = Date.now();
    const requested = this.eventOf(c, 'compensation.requested', now, latency);
    const outcome = this.eventOf(c, result === 'succeeded' ? 'compensation.succeeded' : 'compensation.failed', now + latency, latency);
    this.answered.set(c.idempotencyKey, [requested, outcome]);
    await this.o.emit([requested]);
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      const p = this.o.emit([outcome]).then(
        () => {
          this.stats[result]++;
          this.o.onAnswer?.(c, result);
        },
        (e: unknown) => this.o.logger.error('vendor adapter: an answer could not be sent', { forEventId: c.forEventId, error: e as Error }),
      );
      this.pending.add(p);
      void p.finally(() => this.pending.delete(p));
    }, latency);
    this.timers.add(timer);
  }

  private eventOf(c: CompensationCommand, type: 'compensation.requested' | 'compensation.succeeded' | 'compensation.failed', at: number, latencyMs: number): AgentEvent {
    const t = this.o.targetOf(c.forEventId);
    const compensation = { forEventId: c.forEventId, kind: c.kind as CompensationKind, reason: `vigil ${c.findingKind} (${c.findingId})` };
    const e: AgentEvent = {
      eventId: eventIdOf(c.idempotencyKey, type),
      type,
      occurredAt: new Date(at).toISOString(),
      userId: t?.userId ?? (c.scopeType === 'user' ? c.scopeId : 'u_unknown'),
      agentId: t?.agentId ?? `${c.vendor}-adapter`,
      agentVersion: t?.agentVersion ?? '1.0.0',
      intentId: t?.intentId ?? `i-${c.idempotencyKey}`,
      ...(t?.sessionId ? { sessionId: t.sessionId } : {}),
      ...(t?.traceId ? { traceId: t.traceId } : {}),
      ...(t?.plan ? { plan: t.plan } : {}),
      action: t?.action ?? { name: c.action, vendor: c.vendor, riskTier: 'medium', stateChanging: true },
      compensation,
    };
    if (type === 'compensation.succeeded') e.outcome = { status: 'ok', httpStatus: 200, latencyMs, vendorRef: `CX-${c.idempotencyKey.slice(4, 12).toUpperCase()}` };
    if (type === 'compensation.failed') e.outcome = { status: 'error', httpStatus: 409, errorCode: 'CANNOT_UNDO', latencyMs };
    return e;
  }

  /** Stops reading, and sends the answers still waiting for their latency (a second or two). */
  async stop(): Promise<void> {
    await this.consumer?.disconnect();
    await this.running?.catch(() => {});
    while (this.timers.size > 0 || this.pending.size > 0) {
      await Promise.all([...this.pending]);
      if (this.timers.size > 0) await new Promise((r) => setTimeout(r, 50));
    }
  }
}

/** A uuid-shaped event id derived from the command's idempotency key: the same on every attempt. */
function eventIdOf(key: string, type: string): string {
  const h = createHash('sha256').update(`${key}\0${type}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}
