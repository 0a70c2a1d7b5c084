import { randomBytes } from 'node:crypto';
import type { Admin, EachMessagePayload, Kafka } from 'kafkajs';
import type { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import type { Finding } from '../../processors/core/finding.ts';
import { decodeFinding } from '../app/finding-consumer.ts';
import { RestartingConsumer } from '../kafka/restarting-consumer.ts';
import { silentLogger, type Logger } from '../observability/logger.ts';

/**
 * The latest findings on `safety.findings`, for the operator console: a consumer of its own (a
 * throw-away group that starts `perPartition` messages before each partition's end and never
 * commits), so every instance's console shows every instance's findings, and the recent ones are
 * there from the first look. Started on first use; stop() deletes the group.
 */
export class FindingsTail {
  private readonly recent: Finding[] = [];
  private readonly o: { kafka: Kafka; topic: string; groupPrefix: string; registry: SchemaRegistry | undefined; keep: number; perPartition: number; logger: Logger };
  private starting: Promise<void> | undefined;
  private consumer: RestartingConsumer | undefined;
  private groupId = '';
  /** Why the tail is not reading (shown on the console), or undefined while it is. */
  problem: string | undefined = 'starting';

  constructor(o: { kafka: Kafka; topic: string; groupPrefix: string; registry: SchemaRegistry | undefined; keep?: number; perPartition?: number; logger?: Logger }) {
    this.o = { ...o, keep: o.keep ?? 100, perPartition: o.perPartition ?? 50, logger: o.logger ?? silentLogger };
  }

  /** The latest findings, newest first (starts the tail on the first call). */
  latest(): Finding[] {
    this.starting ??= this.start().catch((e: unknown) => {
      this.problem = `the findings topic cannot be read: ${(e as Error).message}`;
      this.starting = undefined; // try again on the next look
    });
    return [...this.recent].reverse();
  }

  private async start(): Promise<void> {
    const { kafka, topic } = this.o;
    this.groupId = `${this.o.groupPrefix}.console-${randomBytes(4).toString('hex')}`;
    const admin: Admin = kafka.admin();
    await admin.connect();
    try {
      const offsets = await admin.fetchTopicOffsets(topic);
      const partitions = offsets.map((p) => ({ partition: p.partition, offset: String(Math.max(Number(p.low), Number(p.high) - this.o.perPartition)) }));
      await admin.setOffsets({ groupId: this.groupId, topic, partitions });
    } finally {
      await admin.disconnect();
    }
    const eachMessage = async ({ message }: EachMessagePayload) => {
      if (!message.value) return;
      try {
        const f = await decodeFinding(message.value, this.o.registry);
        if (this.recent.some((x) => x.findingId === f.findingId)) return;
        this.recent.push(f);
        this.recent.sort((a, b) => a.detectedAt.localeCompare(b.detectedAt));
        if (this.recent.length > this.o.keep) this.recent.shift();
      } catch {
        // a finding this console cannot read is left out; the monitor's own consumer logs it
      }
    };
    // a crash kafkajs does not recover from (a broker outage) would leave the console's list frozen: a new consumer takes over
    this.consumer = new RestartingConsumer({
      log: this.o.logger,
      create: () => kafka.consumer({ groupId: this.groupId, maxWaitTimeInMs: 500, allowAutoTopicCreation: false }),
      start: async (consumer) => {
        await consumer.connect();
        await consumer.subscribe({ topic });
        await consumer.run({ autoCommit: false, eachMessage });
        this.problem = undefined;
      },
      onCrash: (restartsItself) => {
        if (!restartsItself) this.problem = 'restarting the findings tail after a crash';
      },
    });
    await this.consumer.start(); // its start clears `problem`
  }

  async stop(): Promise<void> {
    await this.starting?.catch(() => {});
    if (!this.consumer) return;
    await this.consumer.stop().catch(() => {});
    const admin = this.o.kafka.admin();
    await admin.connect().then(() => admin.deleteGroups([this.groupId])).catch(() => {}).finally(() => admin.disconnect().catch(() => {}));
  }
}
