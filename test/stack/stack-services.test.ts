import { Kafka, logLevel } from 'kafkajs';
import { SchemaRegistry, SchemaType } from '@kafkajs/confluent-schema-registry';
import { createTransport } from 'nodemailer';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { readMailbox } from '../../scripts/stack/mailbox.ts';
import { stackStatus } from '../../scripts/stack/index.ts';
import { stackEndpoints } from '../helpers/stack-env.ts';
import { randomName, waitFor } from '../helpers/wait.ts';

/** The stack that test/helpers/global-setup.ts started really serves each protocol. */
describe('local stack services', () => {
  const endpoints = stackEndpoints();
  const kafka = new Kafka({ clientId: randomName('stack-test'), brokers: endpoints.kafkaBrokers.split(','), logLevel: logLevel.NOTHING });
  const cleanups: Array<() => Promise<unknown>> = [];
  afterAll(async () => {
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
  });

  it('status shows every piece up, with address, pid and log of the pieces it started', async () => {
    const status = await stackStatus();
    expect(status.map((s) => s.piece)).toEqual(['kafka', 'schema-registry', 'redis', 'smtp']);
    for (const s of status) {
      expect(['running', 'external']).toContain(s.state);
      expect(s.address).toBeTruthy();
      if (s.state === 'running') {
        expect(s.pid).toBeGreaterThan(0);
        expect(s.logPath).toMatch(/\.log$/);
      }
    }
    expect(status.find((s) => s.piece === 'kafka')?.address).toBe(endpoints.kafkaBrokers);
  });

  it('the registry (3.3.x, when the stack started it) serves health on its own management port', async (ctx) => {
    const registry = (await stackStatus()).find((s) => s.piece === 'schema-registry');
    if (registry?.state !== 'running' || !/Registry 3\.[1-9]/.test(registry.detail ?? '')) ctx.skip();
    const management = registry!.ports?.['management'];
    expect(management).not.toBe(registry!.ports?.['http']);
    const res = await fetch(`http://127.0.0.1:${String(management)}/health/ready`);
    expect(res.status).toBe(200);
    expect(await res.text()).toMatch(/"status"\s*:\s*"UP"/);
  });

  it('Kafka: admin creates a topic, producers write (idempotent, transactional), consumer groups read it back', async () => {
    const topic = randomName('stack-topic');
    const admin = kafka.admin();
    await admin.connect();
    cleanups.push(async () => {
      await admin.deleteTopics({ topics: [topic] });
      await admin.disconnect();
    });
    expect(await admin.createTopics({ topics: [{ topic, numPartitions: 3 }], waitForLeaders: true })).toBe(true);
    const producer = kafka.producer({ idempotent: true });
    await producer.connect();
    cleanups.push(() => producer.disconnect());
    const sent = Array.from({ length: 30 }, (_, i) => `m${i}`);
    await producer.send({ topic, messages: sent.map((v, i) => ({ key: `k${i % 7}`, value: v })) });

    const groupId = randomName('stack-group');
    const consumer = kafka.consumer({ groupId });
    await consumer.connect();
    cleanups.push(() => consumer.disconnect());
    await consumer.subscribe({ topic, fromBeginning: true });
    const received: string[] = [];
    await consumer.run({ eachMessage: async ({ message }) => void received.push(String(message.value)) });
    await waitFor(() => received.length >= sent.length, { timeoutMs: 30_000, description: 'the consumer group to read 30 messages' });
    expect([...received].sort()).toEqual([...sent].sort());
    // The group committed its offsets up to the end of every partition.
    const ends = new Map((await admin.fetchTopicOffsets(topic)).map((p) => [p.partition, p.high]));
    await waitFor(
      async () => {
        const offsets = await admin.fetchOffsets({ groupId, topics: [topic] });
        return offsets[0]!.partitions.every((p) => p.offset === ends.get(p.partition));
      },
      { timeoutMs: 15_000, description: 'the group to commit offsets up to the end of each partition' },
    );

    // Transactions work too (kafkajs 2.2.4 against Kafka 4.x): a committed one is read, an aborted one is not.
    const tx = kafka.producer({ transactionalId: randomName('stack-tx'), idempotent: true, maxInFlightRequests: 1 });
    await tx.connect();
    cleanups.push(() => tx.disconnect());
    const committed = await tx.transaction();
    await committed.send({ topic, messages: [{ key: 'tx', value: 'committed' }] });
    await committed.commit();
    const aborted = await tx.transaction();
    await aborted.send({ topic, messages: [{ key: 'tx', value: 'aborted' }] });
    await aborted.abort();
    const readCommitted = kafka.consumer({ groupId: randomName('stack-rc'), readUncommitted: false });
    await readCommitted.connect();
    cleanups.push(() => readCommitted.disconnect());
    await readCommitted.subscribe({ topic, fromBeginning: true });
    const seen: string[] = [];
    await readCommitted.run({ eachMessage: async ({ message }) => void seen.push(String(message.value)) });
    await waitFor(() => seen.includes('committed') && seen.length >= sent.length + 1, { timeoutMs: 30_000, description: 'the committed transaction' });
    expect(seen).not.toContain('aborted');
  });

  it('schema registry: registers an Avro schema, encodes and decodes with a fresh client, enforces BACKWARD', async () => {
    const subject = `${randomName('stack')}-value`;
    const record = (fields: unknown[]): string => JSON.stringify({ type: 'record', name: 'StackProbe', namespace: 'vigil.test', fields });
    const registry = new SchemaRegistry({ host: endpoints.schemaRegistryUrl });
    const { id } = await registry.register({ type: SchemaType.AVRO, schema: record([{ name: 'id', type: 'string' }, { name: 'n', type: 'int' }]) }, { subject });
    const encoded = await registry.encode(id, { id: 'a-1', n: 42 });
    expect(encoded[0]).toBe(0); // Confluent wire format: magic byte, then the schema id
    expect(encoded.readInt32BE(1)).toBe(id);
    const decoded = await new SchemaRegistry({ host: endpoints.schemaRegistryUrl }).decode(encoded);
    expect({ ...decoded }).toEqual({ id: 'a-1', n: 42 });

    const v2 = record([{ name: 'id', type: 'string' }, { name: 'n', type: 'int' }, { name: 'note', type: ['null', 'string'], default: null }]);
    const second = await registry.register({ type: SchemaType.AVRO, schema: v2 }, { subject });
    expect(second.id).not.toBe(id);
    await expect(registry.register({ type: SchemaType.AVRO, schema: record([{ name: 'id', type: 'int' }]) }, { subject })).rejects.toThrow(/ncompatible/);
  });

  it('SMTP: a message sent with nodemailer arrives in readMailbox()', async () => {
    const transport = createTransport({ url: endpoints.smtpUrl, ignoreTLS: true });
    cleanups.push(async () => transport.close());
    const subject = randomName('stack mail');
    await transport.sendMail({
      from: 'vigil <vigil@localhost>',
      to: 'oncall@example.org',
      bcc: 'audit@example.org',
      subject,
      text: 'breaker opened',
      html: '<p>breaker <b>opened</b></p>',
      headers: { 'X-Vigil-Finding': 'f-123' },
    });
    const mail = await waitFor(async () => (await readMailbox(endpoints.mailDir)).find((m) => m.subject === subject), {
      timeoutMs: 10_000,
      description: `the message "${subject}" in ${endpoints.mailDir}`,
    });
    expect(mail.from).toBe('vigil@localhost');
    expect(mail.to).toEqual(['oncall@example.org']);
    expect(mail.envelopeTo).toEqual(['oncall@example.org', 'audit@example.org']);
    expect(mail.text.trim()).toBe('breaker opened');
    expect(mail.html).toContain('<b>opened</b>');
    expect(mail.headers['x-vigil-finding']).toBe('f-123');
    expect(mail.date).toBeInstanceOf(Date);
  });

  it('Redis answers at the given URL', async () => {
    const redis = new Redis(endpoints.redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
    await redis.connect();
    cleanups.push(async () => redis.quit());
    const key = randomName('vigil-stack-test');
    await redis.set(key, 'ok', 'EX', 30);
    expect(await redis.get(key)).toBe('ok');
    await redis.del(key);
  });
});
