import type { Consumer, EachBatchPayload, Kafka, Producer } from 'kafkajs';
import type { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import type { Config } from '../config/config.ts';
import type { Logger } from '../observability/logger.ts';
import type { IngestMetrics } from '../observability/metrics.ts';
import type { BatchHandler } from './batch-handler.ts';
import { processBatch, type BatchOutcome, type BatchStage, type PoisonReport } from './batch-processor.ts';
import { BatchFailures } from './batch-failures.ts';
import { sleep } from '../errors/retry-policy.ts';
import { RestartingConsumer } from '../kafka/restarting-consumer.ts';
import { sendToDeadLetter } from './dead-letter.ts';
import type { EventDedupe } from './dedupe.ts';
import { StallWatchdog } from './stall-watchdog.ts';
import { EventDecoder } from '../kafka/event-codec.ts';
import { PRODUCER_OPTIONS } from '../kafka/kafka-client.ts';

export interface IngestDeps {
  config: Config;
  kafka: Kafka;
  registry: SchemaRegistry | undefined;
  dedupe: EventDedupe;
  handler: BatchHandler;
  metrics: IngestMetrics;
  logger: Logger;
  /** Called after each committed batch (the demo and tests watch progress with it). */
  onBatchCommitted?: (outcome: BatchOutcome & { topic: string; partition: number }) => void;
  /** Read the topic from the beginning when the group has no committed offset (default true). */
  fromBeginning?: boolean;
}

export interface IngestStats {
  consumed: number;
  handled: number;
  duplicates: number;
  deadLettered: number;
  batches: number;
  retries: number;
}

/**
 * `vigil run`'s consumer: a kafkajs consumer group on the input topic, processed a batch at a time,
 * offsets committed only after the batch's effects are durable. A dependency that is down (Redis, registry,
 * broker) makes it retry the same batch, with backoff and jitter, for as long as the partition is ours:
 * nothing is skipped. A handler that fails on the batch for another reason (a bug a single event
 * triggers) is retried a few times, then the batch is handled in isolation and only the events that
 * fail on their own are dead-lettered (`processing_failed`, logged with stack and cause): batch-failures.ts.
 * A consumer CRASH that kafkajs will not restart itself, and a stalled fetch loop, replace the consumer
 * (RestartingConsumer, the loop the findings consumers use too).
 */
export class IngestService {
  readonly stats: IngestStats = { consumed: 0, handled: 0, duplicates: 0, deadLettered: 0, batches: 0, retries: 0 };
  private readonly deps: IngestDeps;
  private readonly log: Logger;
  private producer: Producer | undefined;
  private readonly watchdog: StallWatchdog;
  /** Keeps the writer schemas fetched from the registry, across batches and consumer restarts. */
  private readonly decoder: EventDecoder;
  /** The input's consumer, replaced after a crash kafkajs does not recover from, or when the watchdog sees it stalled. */
  private readonly consumers: RestartingConsumer;

  constructor(deps: IngestDeps) {
    this.deps = deps;
    this.log = deps.logger.child({ component: 'ingest' });
    this.decoder = new EventDecoder(deps.registry, deps.config.kafka.maxEventBytes);
    this.watchdog = new StallWatchdog(deps.config.kafka.stallTimeoutMs, {
      onStalledBatch: (ms) => this.log.warn('a batch has been in flight for too long', { inFlightMs: ms, stallTimeoutMs: deps.config.kafka.stallTimeoutMs }),
      onStalledConsumer: (ms) => {
        deps.metrics.watchdogRestarts.inc();
        this.log.error('consumer made no progress; restarting it', { idleMs: ms, stallTimeoutMs: deps.config.kafka.stallTimeoutMs });
        void this.consumers.restart('watchdog');
      },
    });
    const { config } = deps;
    this.consumers = new RestartingConsumer({
      log: this.log,
      create: () =>
        deps.kafka.consumer({
          groupId: config.kafka.groupId,
          sessionTimeout: config.kafka.sessionTimeoutMs,
          heartbeatInterval: Math.min(3000, Math.floor(config.kafka.sessionTimeoutMs / 3)),
          allowAutoTopicCreation: false,
          maxBytesPerPartition: 1024 * 1024,
        }),
      start: (consumer) => this.startConsumer(consumer),
      onCrash: (restartsItself, error) => {
        deps.metrics.consumerCrashes.inc({ restart: String(restartsItself) });
        // one kafkajs does not restart is logged (and replaced) by RestartingConsumer
        if (restartsItself) this.log.error('consumer crashed; kafkajs restarts it', { error });
      },
      onRestarted: () => this.watchdog.progress(),
    });
  }

  async start(): Promise<void> {
    this.producer = this.deps.kafka.producer(PRODUCER_OPTIONS);
    await this.producer.connect();
    await this.consumers.start();
    this.watchdog.start();
  }

  /** Finishes the batch in flight (and commits it), then disconnects. */
  async stop(): Promise<void> {
    this.watchdog.stop();
    await this.consumers.stop();
    await this.producer?.disconnect();
    await this.deps.handler.close?.();
  }

  /** Subscribes a new consumer to the input and runs it (at start and at each restart). */
  private async startConsumer(consumer: Consumer): Promise<void> {
    const { config } = this.deps;
    const touch = () => this.watchdog.progress();
    consumer.on(consumer.events.FETCH_START, touch);
    consumer.on(consumer.events.FETCH, touch);
    consumer.on(consumer.events.HEARTBEAT, touch);
    // After each rebalance: the handler forgets what it holds in memory for partitions it lost.
    consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
      const topic = config.kafka.topics.actions;
      this.deps.handler.assigned?.(topic, payload.memberAssignment[topic] ?? []);
    });
    await consumer.connect();
    await consumer.subscribe({ topic: config.kafka.topics.actions, fromBeginning: this.deps.fromBeginning ?? true });
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: config.kafka.partitionsConcurrently,
      eachBatch: (payload) => this.eachBatch(payload, consumer),
    });
    this.log.info('consuming', { topic: config.kafka.topics.actions, groupId: config.kafka.groupId });
  }

  /**
   * One batch, retried until it is done while the partition is still this consumer's. `owner` is the
   * consumer that fetched it: once a crash or the watchdog replaced it, the batch is abandoned (the new
   * consumer fetches it again from the committed offset). The chaos suite found a crashed consumer's
   * batch still retrying next to its replacement's copy of the same batch, and committing through the
   * replacement: the two copies ran the partition's detectors over each other's slice markers, and
   * findings were lost.
   */
  private async eachBatch({ batch, resolveOffset, heartbeat, isRunning, isStale }: EachBatchPayload, owner: Consumer): Promise<void> {
    if (batch.messages.length === 0) return;
    const { config, metrics } = this.deps;
    const topic = batch.topic;
    const partition = batch.partition;
    const endTimer = metrics.batchDuration.startTimer({ topic });
    const inFlight = this.watchdog.batchStarted();
    try {
      const failures = new BatchFailures({ maxAttempts: config.kafka.batchMaxAttempts });
      const progress: { stage: BatchStage } = { stage: 'decode' };
      const budget = { left: config.kafka.poisonLimit, limit: config.kafka.poisonLimit };
      const pause = async () => {
        await sleep(failures.pauseMs());
        await heartbeat().catch(() => {});
      };
      const onPoison = (p: PoisonReport) =>
        this.log.error('event dead-lettered: processing it failed', {
          reason: 'processing_failed', eventId: p.eventId, partition, offset: p.offset, dlq: config.kafka.topics.dlq, error: p.error as Error,
        });
      let outcome: BatchOutcome | undefined;
      while (outcome === undefined) {
        if (!isRunning() || isStale() || this.consumers.current !== owner) {
          // the partition moved on: its new owner redoes the batch
          if (failures.retries > 0) this.log.info('batch given up to the next delivery', { partition, firstOffset: batch.firstOffset(), lastOffset: batch.lastOffset(), replaced: this.consumers.current !== owner, stale: isStale(), running: isRunning() });
          return;
        }
        try {
          outcome = await processBatch(batch, {
            decoder: this.decoder,
            dedupe: this.deps.dedupe,
            handler: this.deps.handler,
            sendDeadLetters: (letters) => sendToDeadLetter(this.producer!, config.kafka.topics.dlq, batch, letters),
            progress,
            onPoison,
            ...(failures.mode === 'isolate' ? { isolate: { budget, confirmAttempts: 1, pause } } : {}),
          });
        } catch (e) {
          this.stats.retries++;
          metrics.batchRetries.inc({ topic, error: (e as Error)?.name ?? 'Error' });
          const at = { partition, firstOffset: batch.firstOffset(), stage: progress.stage };
          const d = failures.decide(e, progress.stage);
          if (d.action === 'isolate') {
            this.log.error('the handler keeps failing on this batch, not because a dependency is down: isolating the events it fails on', { ...at, error: e as Error });
            continue;
          }
          if (d.why === 'dependency') this.log.warn('batch failed: a dependency is down or refusing; retrying it', { ...at, error: e as Error, retryInMs: d.delayMs });
          else if (d.why === 'handler') this.log.warn('batch failed in the handler; retrying it', { ...at, error: e as Error, retryInMs: d.delayMs, attempt: failures.retries });
          else this.log.error(d.why === 'held' ? 'partition held: retrying the batch, dead-lettering nothing more' : 'batch failed (a bug, not a dependency); retrying it', { ...at, error: e as Error, retryInMs: d.delayMs });
          await sleep(d.delayMs);
          await heartbeat().catch(() => {});
        }
      }
      if (this.consumers.current !== owner) {
        // replaced while the last attempt ran: the new consumer redoes and commits it
        this.log.info('batch done by a replaced consumer: not committed, the next delivery finds its events handled', { partition, firstOffset: batch.firstOffset(), lastOffset: batch.lastOffset() });
        return;
      }
      const lastOffset = batch.lastOffset();
      resolveOffset(lastOffset);
      const commitStart = performance.now();
      await owner.commitOffsets([{ topic, partition, offset: (BigInt(lastOffset) + 1n).toString() }]);
      const stageMs = { ...outcome.stageMs, commit: performance.now() - commitStart };
      for (const [stage, ms] of Object.entries(stageMs)) metrics.batchStage.observe({ topic, stage: STAGE_LABEL[stage as keyof typeof stageMs] }, ms / 1000);
      await heartbeat();

      this.stats.batches++;
      this.stats.consumed += outcome.consumed;
      this.stats.handled += outcome.handled;
      this.stats.duplicates += outcome.duplicates;
      this.stats.deadLettered += outcome.deadLettered.length;
      metrics.eventsConsumed.inc({ topic }, outcome.consumed);
      metrics.eventsHandled.inc({ topic }, outcome.handled);
      if (outcome.duplicates) metrics.eventsDuplicate.inc({ topic }, outcome.duplicates);
      for (const d of outcome.deadLettered) metrics.eventsDeadLettered.inc({ topic, reason: d.reason });
      metrics.lastBatchTimestamp.setToCurrentTime();
      if (outcome.newestEventTs !== undefined) metrics.eventTimeLag.set({ topic }, Math.max(0, (Date.now() - outcome.newestEventTs) / 1000));
      if (outcome.deadLettered.length) {
        this.log.warn('bad events dead-lettered', { count: outcome.deadLettered.length, reasons: countBy(outcome.deadLettered.map((d) => d.reason)), dlq: config.kafka.topics.dlq });
      }
      this.log.debug('batch committed', { partition, lastOffset, consumed: outcome.consumed, handled: outcome.handled, stageMs: roundAll(stageMs) });
      this.deps.onBatchCommitted?.({ ...outcome, topic, partition });
    } finally {
      endTimer();
      this.watchdog.batchEnded(inFlight);
    }
  }
}

/** vigil_batch_stage_seconds's stage label of each of a batch's timed stages. */
const STAGE_LABEL = { decode: 'decode', dedupe: 'dedupe', wait: 'wait', handle: 'handle', deadLetter: 'dead_letter', mark: 'mark', commit: 'commit' } as const;

function roundAll(ms: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(ms)) out[k] = Math.round(v * 10) / 10;
  return out;
}

function countBy(xs: string[]): Record<string, number> {
  const r: Record<string, number> = {};
  for (const x of xs) r[x] = (r[x] ?? 0) + 1;
  return r;
}

