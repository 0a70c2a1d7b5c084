import { randomBytes } from 'node:crypto';
import type { Admin, Kafka, Producer, Transaction } from 'kafkajs';
import type { Logger } from '../observability/logger.ts';
import type { ResponseMetrics } from '../observability/response-metrics.ts';
import { commandMessage, type CommandCodecOptions } from '../kafka/compensation-codec.ts';
import { runScript } from '../redis/scripts.ts';
import type { CompensationPolicy } from './compensation-policy.ts';
import { commandIdOf, type CompensationCommand } from './plan-compensation.ts';
import { LeaseLostError, type Saga, type SagaStore } from './saga-store.ts';

/**
 * The command relay: the one instance holding the relay lease (Redis) moves compensation commands
 * from the saga outbox in Redis to Kafka `safety.compensations`, exactly once each.
 *
 * How no command is lost or doubled, across crashes, restarts and several instances:
 * 1. The saga is created in Redis in the finding's batch (openSaga), before the batch commits: never lost.
 * 2. The relay claims due commands (advanceSagas), each with a fresh sequence number, and only when no
 *    earlier claim is unsettled; every relay script checks the lease atomically, so a relay that lost
 *    it changes nothing.
 * 3. It writes the claimed commands in ONE Kafka transaction with a fixed transactional.id, together
 *    with a checkpoint: the highest sequence number, committed as the offset of a consumer group of
 *    its own (sendOffsets). Both become visible atomically, or neither does.
 * 4. It then settles the claims against that checkpoint (settleInflight). If it crashes before, the next
 *    holder of the lease first initialises its producer with the same transactional.id, which fences the
 *    old producer and aborts its open transaction, then reads the checkpoint back: claims at or below it
 *    are on the topic (settled as sent), the others are released and claimed again. A zombie relay
 *    cannot commit after that (its epoch is fenced), nor change Redis (its lease is gone).
 * Readers of the topic must use isolation.level=read_committed: aborted attempts stay in the log.
 *
 * The relay also times out attempts (re-sent with backoff up to the policy's cap, then timed_out) and
 * hands each escalated saga once to `onEscalation` (idempotent: retried until it succeeds).
 */
export interface CommandRelayOptions {
  kafka: Kafka;
  sagas: SagaStore;
  topic: string;
  codec: CommandCodecOptions;
  /** Fixed per deployment: every instance uses the same one, which is what fences a dead relay. */
  transactionalId: string;
  /** The consumer group whose offset on partition 0 of `topic` is the transactional checkpoint. */
  checkpointGroup: string;
  policy: () => CompensationPolicy;
  leaseMs: number;
  pollMs: number;
  batchSize: number;
  logger: Logger;
  metrics?: ResponseMetrics;
  onEscalation?: (saga: Saga) => Promise<void>;
  /** Test hook: called with each step's outcome (the crash test logs them). */
  onStep?: (s: RelayStepReport) => void;
  /**
   * Test hook: awaited between a transaction's commit and the settle in Redis, the window in which a
   * crash leaves claims that only the checkpoint can settle (the crash test widens it to land kills there).
   */
  afterCommit?: (commands: number) => Promise<void>;
}

export interface RelayStepReport {
  /** Commands committed to Kafka in this step's transaction and settled in Redis. */
  sent: number;
  /** Reported once right after the commit, before the settle (test visibility of the crash window). */
  committed?: number;
  /** Claims of an earlier transaction found committed (a crash between commit and settle). */
  recoveredSent: number;
  /** Claims of an earlier transaction found not committed: claimed again. */
  recoveredReleased: number;
  resendsScheduled: number;
  timedOut: number;
  escalated: number;
}

export interface RelayStats extends RelayStepReport {
  leaseAcquired: number;
  fenced: number;
  errors: number;
}

export class CommandRelay {
  readonly stats: RelayStats = { sent: 0, recoveredSent: 0, recoveredReleased: 0, resendsScheduled: 0, timedOut: 0, escalated: 0, leaseAcquired: 0, fenced: 0, errors: 0 };
  readonly token = `relay-${process.pid}-${randomBytes(6).toString('hex')}`;
  private readonly o: CommandRelayOptions;
  private readonly log: Logger;
  private producer: Producer | undefined;
  private admin: Admin | undefined;
  private holding = false;
  private stopping = false;
  private loop: Promise<void> | undefined;
  private renewTimer: NodeJS.Timeout | undefined;
  private wake: (() => void) | undefined;
  private lastError = '';

  constructor(o: CommandRelayOptions) {
    this.o = o;
    this.log = o.logger.child({ component: 'compensation-relay' });
  }

  start(): void {
    if (this.loop) return;
    this.loop = this.run();
    // Renewed on its own timer, so a slow broker round trip does not let the lease lapse.
    this.renewTimer = setInterval(() => void this.renew(), Math.max(200, Math.floor(this.o.leaseMs / 3)));
    this.renewTimer.unref();
  }

  /** Runs the next step now (a new saga was opened). */
  poke(): void {
    this.wake?.();
  }

  /** Finishes the step in flight, gives the lease up and disconnects. */
  async stop(): Promise<void> {
    this.stopping = true;
    clearInterval(this.renewTimer);
    this.wake?.();
    await this.loop;
    await this.dropProducer();
    await this.admin?.disconnect().catch(() => {});
    if (this.holding) await runScript(this.o.sagas.redis, 'releaseLease', [this.o.sagas.keys.compensationRelayLease()], [this.token]).catch(() => {});
  }

  private async run(): Promise<void> {
    while (!this.stopping) {
      try {
        await this.step();
        this.lastError = '';
      } catch (e) {
        this.stats.errors++;
        const msg = (e as Error)?.message ?? String(e);
        if (e instanceof LeaseLostError) {
          this.log.warn('relay lease lost; another instance relays now', {});
          this.holding = false;
        } else if (msg !== this.lastError) {
          this.log.error('compensation relay step failed; retrying', { error: e as Error });
        }
        this.lastError = msg;
        // Whatever the producer did is unknown now: the next step starts from a fenced, fresh one.
        await this.dropProducer();
      }
      if (this.stopping) break;
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, this.o.pollMs);
        this.wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
      this.wake = undefined;
    }
  }

  private async renew(): Promise<void> {
    if (!this.holding || this.stopping) return;
    try {
      const r = await runScript<number>(this.o.sagas.redis, 'acquireLease', [this.o.sagas.keys.compensationRelayLease()], [this.token, this.o.leaseMs]);
      if (r === 0) this.holding = false;
    } catch {
      // Redis unreachable: the step will find out too.
    }
  }

  /** One pass: lease, producer, recovery, escalations, time-outs, sends. */
  async step(): Promise<RelayStepReport> {
    const report: RelayStepReport = { sent: 0, recoveredSent: 0, recoveredReleased: 0, resendsScheduled: 0, timedOut: 0, escalated: 0 };
    const { sagas } = this.o;
    const lease = await runScript<number>(sagas.redis, 'acquireLease', [sagas.keys.compensationRelayLease()], [this.token, this.o.leaseMs]);
    if (lease === 0) {
      if (this.holding || this.producer) await this.dropProducer();
      this.holding = false;
      this.o.metrics?.compensationsInFlight.set(await sagas.openCount());
      return report;
    }
    if (lease === 2) {
      this.stats.leaseAcquired++;
      this.log.info('relay lease acquired', { token: this.token });
      await this.dropProducer();
    }
    this.holding = true;
    const producer = await this.ensureProducer();
    const policy = this.o.policy();

    // Claims left by a relay that died (or by this one before an error): settle them from the checkpoint.
    const left = await sagas.inflight();
    if (left.length > 0) {
      const checkpoint = await this.readCheckpoint();
      for (const s of await sagas.settle(this.token, left, checkpoint, policy.timeoutMs)) {
        if (s.what === 'sent') report.recoveredSent++;
        else report.recoveredReleased++;
      }
      this.log.info('settled the claims of an earlier transaction from the checkpoint', { checkpoint, foundCommitted: report.recoveredSent, released: report.recoveredReleased });
    }

    await this.escalate(report);

    const due = await sagas.due(Math.max(this.o.batchSize * 4, 100));
    const steps = (await sagas.advance(this.token, due, policy, this.o.batchSize)) ?? [];
    const sends: { fe: string; seq: number; command: CompensationCommand }[] = [];
    for (const s of steps) {
      if (s.what === 'send') {
        const requestedAt = new Date(s.createdAt).toISOString();
        sends.push({ fe: s.forEventId, seq: s.seq, command: { ...s.command, commandId: commandIdOf(s.command.idempotencyKey, s.attempt), attempt: s.attempt, requestedAt } });
      } else if (s.what === 'resend') {
        report.resendsScheduled++;
        this.log.warn('compensation got no outcome in time; re-sending after a backoff', { forEventId: s.forEventId, attempt: s.attempt, resendAt: new Date(s.dueAt).toISOString() });
      } else {
        report.timedOut++;
        const saga = await sagas.get(s.forEventId);
        this.o.metrics?.compensations.inc({ kind: saga?.command.kind ?? 'unknown', outcome: 'timed_out' });
        this.log.error('compensation timed out after its last attempt; escalating', { forEventId: s.forEventId, attempts: s.attempt });
      }
    }
    if (sends.length > 0) {
      const checkpoint = Math.max(...sends.map((s) => s.seq));
      await this.commit(producer, sends.map((s) => s.command), checkpoint);
      this.o.onStep?.({ sent: 0, recoveredSent: 0, recoveredReleased: 0, resendsScheduled: 0, timedOut: 0, escalated: 0, committed: sends.length });
      await this.o.afterCommit?.(sends.length);
      for (const s of await sagas.settle(this.token, sends.map((x) => x.fe), checkpoint, policy.timeoutMs)) {
        if (s.what !== 'sent') continue;
        report.sent++;
        const c = sends.find((x) => x.fe === s.forEventId)!.command;
        this.o.metrics?.compensations.inc({ kind: c.kind, outcome: c.attempt === 1 ? 'requested' : 'resent' });
      }
    }
    if (report.timedOut > 0) await this.escalate(report);
    this.o.metrics?.compensationsInFlight.set(await sagas.openCount());
    for (const k of ['sent', 'recoveredSent', 'recoveredReleased', 'resendsScheduled', 'timedOut', 'escalated'] as const) this.stats[k] += report[k];
    if (report.sent + report.recoveredSent + report.recoveredReleased + report.timedOut + report.escalated > 0) this.o.onStep?.(report);
    return report;
  }

  /** Writes the commands and the checkpoint in one transaction. */
  private async commit(producer: Producer, commands: CompensationCommand[], checkpoint: number): Promise<void> {
    const messages = await Promise.all(commands.map((c) => commandMessage(c, this.o.codec)));
    let tx: Transaction | undefined;
    try {
      tx = await producer.transaction();
      await tx.send({ topic: this.o.topic, acks: -1, messages });
      await tx.sendOffsets({ consumerGroupId: this.o.checkpointGroup, topics: [{ topic: this.o.topic, partitions: [{ partition: 0, offset: String(checkpoint) }] }] });
      await tx.commit();
    } catch (e) {
      if (/FENCED|INVALID_PRODUCER_EPOCH/i.test(String((e as { type?: string }).type ?? (e as Error).message))) this.stats.fenced++;
      if (tx?.isActive()) await tx.abort().catch(() => {});
      throw e;
    }
  }

  private async escalate(report: RelayStepReport): Promise<void> {
    const { sagas } = this.o;
    for (const fe of await sagas.escalations(20)) {
      const saga = await sagas.get(fe);
      if (saga && this.o.onEscalation) await this.o.onEscalation(saga);
      await sagas.escalationHandled(fe);
      if (saga) this.o.metrics?.compensations.inc({ kind: saga.command.kind, outcome: 'escalated' });
      report.escalated++;
    }
  }

  /** The highest sequence number committed to Kafka (-1: none yet). */
  private async readCheckpoint(): Promise<number> {
    this.admin ??= this.o.kafka.admin();
    await this.admin.connect();
    const [t] = await this.admin.fetchOffsets({ groupId: this.o.checkpointGroup, topics: [this.o.topic] });
    const p = t?.partitions.find((x) => x.partition === 0);
    return p ? Number(p.offset) : -1;
  }

  /**
   * A transactional producer, initialised: InitProducerId with our transactional.id bumps its epoch,
   * which fences any older producer with that id and aborts its open transaction.
   */
  private async ensureProducer(): Promise<Producer> {
    if (this.producer) return this.producer;
    const p = this.o.kafka.producer({
      transactionalId: this.o.transactionalId,
      idempotent: true,
      maxInFlightRequests: 1,
      transactionTimeout: Math.max(10_000, this.o.leaseMs * 2),
      allowAutoTopicCreation: false,
    });
    await p.connect();
    try {
      const tx = await p.transaction();
      await tx.abort();
    } catch (e) {
      await p.disconnect().catch(() => {});
      throw e;
    }
    this.producer = p;
    return p;
  }

  private async dropProducer(): Promise<void> {
    const p = this.producer;
    this.producer = undefined;
    await p?.disconnect().catch(() => {});
  }
}
