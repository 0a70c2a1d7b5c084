import avsc from 'avsc';
import fc from 'fast-check';
import type { KafkaMessage } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMonitor, type Monitor } from '../../src/app/monitor.ts';
import { detectionHandlerFactory } from '../../src/app/detection-wiring.ts';
import { DLQ_HEADERS } from '../../src/ingest/dead-letter.ts';
import { BadEventError, EventDecoder } from '../../src/kafka/event-codec.ts';
import { registerSchemas } from '../../src/kafka/schema-registry.ts';
import { avroSchema } from '../../src/kafka/schemas.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { PRODUCER_OPTIONS } from '../../src/kafka/kafka-client.ts';
import { createTopics, header, readTopic, settledTopicSize, testKafka } from '../helpers/kafka-helpers.ts';
import { testConfig } from '../helpers/test-config.ts';
import { waitFor } from '../helpers/wait.ts';
import { deepNesting, hostileDate, hostileString, hugeString, mutate, mutation, validEvent } from './arbitraries.ts';
import { cases, LONG, params, record } from './fuzz-support.ts';

/**
 * The live part of the bad-input suite: a few hundred generated messages, bad and good mixed, through
 * real Kafka into `vigil run`'s ingest with every detector and the breakers (detectionHandlerFactory,
 * as `vigil run` wires it). Afterwards every message is accounted for exactly once: dead-lettered with
 * a reason (the one the decoder gives it offline) or handled (its eventId marked seen in Redis); the
 * good events around the bad ones are all handled; nothing is `processing_failed` (no detector,
 * finding or breaker chokes on strange but valid input).
 */
type Kind = 'good' | 'hostile-valid' | 'bytes' | 'mutated' | 'avro-damaged' | 'wrong-schema' | 'huge' | 'deep' | 'date' | 'unicode' | 'empty';
type Case = { kind: Kind; value: Buffer | null; key: string; partition?: number };

const { config } = testConfig({ VIGIL_LOG_LEVEL: 'warn' });
const type = avsc.Type.forSchema(avroSchema('agent-action') as avsc.Schema);
const FIELDS = (avroSchema('agent-action').fields as { name: string }[]).map((f) => f.name);
let schemaId: number;
let decoder: EventDecoder;
let monitor: Monitor;
const logLines: string[] = [];
const NOW = Date.now() - 3_600_000; // an hour ago: ordinary event time, far from any clock bound

function avro(e: Record<string, unknown>, id = schemaId): Buffer {
  const rec: Record<string, unknown> = {};
  for (const f of FIELDS) rec[f] = e[f] ?? null;
  if (rec.action) rec.action = { amountMinor: null, currency: null, ...(rec.action as object) };
  if (rec.outcome) rec.outcome = { httpStatus: null, errorCode: null, latencyMs: null, vendorRef: null, ...(rec.outcome as object) };
  if (rec.compensation) rec.compensation = { reason: null, ...(rec.compensation as object) };
  const head = Buffer.alloc(5);
  head.writeUInt32BE(id, 1);
  return Buffer.concat([head, type.toBuffer(rec)]);
}

/** Valid strings that are strange: NUL, RTL override, combining marks, emoji, spaces, braces, long. */
const STRANGE = ['a\u0000b', 'u\u202e3', 'e\u0301', '😀', 'a b', '{tag}', 'x:y', 'ü'.repeat(120), '[email]', 'bob@example.com'];

function caseArb(i: number): fc.Arbitrary<Case> {
  const id = (e: Record<string, unknown>): Record<string, unknown> => ({ ...e, eventId: `lf-${i}-${String(e.eventId)}`, occurredAt: new Date(NOW + i * 10).toISOString() });
  const asJson = (kind: Kind) => (e: Record<string, unknown>): Case => ({ kind, key: String(e.userId ?? 'k'), value: Buffer.from(JSON.stringify(e)) });
  return fc.oneof(
    { weight: 6, arbitrary: validEvent.map(id).chain((e) => fc.boolean().map((a) => (a ? { kind: 'good' as const, key: String(e.userId), value: avro(e) } : asJson('good')(e)))) },
    { weight: 3, arbitrary: fc.tuple(validEvent.map(id), fc.constantFrom('userId', 'agentId', 'intentId', 'traceId', 'plan', 'idempotencyKey', 'payloadHash'), fc.constantFrom(...STRANGE)).map(([e, f, s]) => asJson('hostile-valid')({ ...e, [f]: s })) },
    { weight: 1, arbitrary: fc.uint8Array({ minLength: 1, maxLength: 200 }).map((b): Case => ({ kind: 'bytes', key: 'k', value: Buffer.from(b) })) },
    { weight: 2, arbitrary: fc.tuple(validEvent.map(id), fc.array(mutation, { minLength: 1, maxLength: 3 })).map(([e, ms]) => asJson('mutated')(mutate(e, ms))) },
    { weight: 1, arbitrary: fc.tuple(validEvent.map(id), fc.nat()).map(([e, at]): Case => { const b = avro(e); return { kind: 'avro-damaged', key: 'k', value: b.subarray(0, 5 + (at % (b.length - 6))) }; }) },
    { weight: 1, arbitrary: validEvent.map(id).map((e): Case => ({ kind: 'wrong-schema', key: 'k', value: avro(e, 0x7ffffff0) })) },
    { weight: 1, arbitrary: fc.tuple(validEvent.map(id), hugeString(100_000)).map(([e, s]) => asJson('huge')({ ...e, agentVersion: s })) },
    { weight: 1, arbitrary: deepNesting.map((t): Case => ({ kind: 'deep', key: 'k', value: Buffer.from(t.replace('"deep"', `"lf-deep-${i}"`).replace(/"occurredAt":"[^"]*"/, `"occurredAt":"${new Date(NOW + i * 10).toISOString()}"`)) })) },
    { weight: 1, arbitrary: fc.tuple(validEvent.map(id), hostileDate).map(([e, d]) => asJson('date')({ ...e, occurredAt: d })) },
    { weight: 1, arbitrary: fc.tuple(validEvent.map(id), hostileString(20)).map(([e, s]) => asJson('unicode')({ ...e, userId: s })) },
    { weight: 1, arbitrary: fc.constant<Case>({ kind: 'empty', key: 'k', value: null }) },
  );
}

/** Two successes of one payload under different keys: a duplicate_action finding and a user breaker, for a strange userId. */
function duplicatePair(i: number, user: string): Case[] {
  return [0, 1].map((n) => {
    const e = {
      eventId: `lf-dup-${i}-${n}`, type: 'action.succeeded', occurredAt: new Date(NOW + i * 10 + n).toISOString(), userId: user, agentId: 'shop-helper', agentVersion: '1',
      intentId: `lf-dup-${i}`, idempotencyKey: `k-${i}-${n}`, payloadHash: `h-${i}`,
      action: { name: 'order.place', vendor: 'acme-air', riskTier: 'medium', stateChanging: true }, outcome: { status: 'ok', httpStatus: 200 },
    };
    return { kind: 'hostile-valid' as const, key: user, value: Buffer.from(JSON.stringify(e)) };
  });
}

beforeAll(async () => {
  await createTopics(config);
  const schemas = await registerSchemas(config.schemaRegistry.url!, { 'agent-action': config.kafka.topics.actions });
  schemaId = schemas.ids['agent-action']!;
  decoder = new EventDecoder(schemas.registry, config.kafka.maxEventBytes);
  const logger = createLogger({ level: 'warn', write: (l) => logLines.push(l) });
  monitor = await startMonitor(config, { logger, handler: detectionHandlerFactory(config, logger), serveMetrics: false, serveApi: false });
});
afterAll(async () => {
  await monitor?.stop();
});

describe('bad input through real Kafka into vigil run', () => {
  it('every message is dead-lettered with its reason or handled, the good ones all handled, nothing processing_failed', async () => {
    const n = cases(150, 600);
    const seed = Number(process.env.VIGIL_FUZZ_SEED ?? Date.now() % 2 ** 31);
    const generated = fc.sample(fc.tuple(...Array.from({ length: n }, (_, i) => caseArb(i))), { numRuns: 1, seed: params(1).seed ?? seed })[0]!;
    const messages: Case[] = [...generated, ...STRANGE.flatMap((u, i) => duplicatePair(i, u))];
    // later events on every partition, so event time moves past everything above and decisions settle
    for (let p = 0; p < config.kafka.partitions; p++) messages.push({ kind: 'good', key: `u_end${p}`, partition: p, value: Buffer.from(JSON.stringify({ eventId: `lf-end-${p}`, type: 'intent.parsed', occurredAt: new Date(NOW + 60_000).toISOString(), userId: `u_end${p}`, agentId: 'a', agentVersion: '1', intentId: `i-end-${p}`, action: { name: 'n', vendor: 'v', riskTier: 'low', stateChanging: false } })) });

    // the oracle: what the decoder says of each value offline
    await decoder.loadSchemas(messages);
    // a decodable event whose clock is far from the others' (a hostile date that parses) may be refused
    // by the event-time guard (dead-lettered as event_time_out_of_bounds) or held; docs/event-time.md
    const expected = messages.map((m) => {
      try {
        const e = decoder.decode(m.value === null ? null : Buffer.from(m.value));
        const offClock = Math.abs(Date.parse(e.occurredAt) - NOW) > 10 * 60_000;
        return { ok: true as const, eventId: e.eventId, offClock };
      } catch (e) {
        if (!(e instanceof BadEventError)) throw e;
        return { ok: false as const, reason: e.reason };
      }
    });
    const firstOfId = new Map<string, number>();
    expected.forEach((x, i) => x.ok && !firstOfId.has(x.eventId) && firstOfId.set(x.eventId, i));
    const bad = expected.filter((x) => !x.ok).length;
    const offClockIds = new Set(expected.flatMap((x) => (x.ok && x.offClock ? [x.eventId] : [])));
    expect(bad).toBeGreaterThan(n / 5); // the mix really is mixed
    expect(expected.filter((x, i) => x.ok && messages[i]!.kind === 'good').length).toBeGreaterThan(n / 5);

    // a few at a time: huge values must stay under the broker's request size
    const producer = testKafka(config).producer(PRODUCER_OPTIONS);
    await producer.connect();
    try {
      for (let i = 0; i < messages.length; i += 8) {
        await producer.send({ topic: config.kafka.topics.actions, acks: -1, messages: messages.slice(i, i + 8).map((m) => ({ key: m.key, value: m.value, ...(m.partition !== undefined ? { partition: m.partition } : {}) })) });
      }
    } finally {
      await producer.disconnect();
    }
    await waitFor(() => monitor.ingest.stats.consumed >= messages.length, { timeoutMs: 180_000, description: `${messages.length} messages consumed` });

    // ingest's refusals, and the detection stage's refusals for event time (held ones may be refused later)
    const deadLettered = monitor.ingest.stats.deadLettered;
    const dlqSize = await settledTopicSize(config, config.kafka.topics.dlq);
    const dlq = dlqSize ? await readTopic(config, config.kafka.topics.dlq, dlqSize, 60_000) : [];
    const byOffset = new Map<string, KafkaMessage>();
    for (const d of dlq) byOffset.set(`${header(d, DLQ_HEADERS.sourcePartition)}/${header(d, DLQ_HEADERS.sourceOffset)}`, d);
    const reasons = dlq.map((d) => header(d, DLQ_HEADERS.reason));
    expect(reasons.filter((r) => r === 'processing_failed'), 'nothing chokes on valid input').toEqual([]);
    // the refused ones beyond the oracle's are valid events with a clock far off, refused for it
    const refusedForTime = dlq.filter((d) => header(d, DLQ_HEADERS.reason) === 'event_time_out_of_bounds');
    expect(dlq.length - refusedForTime.length).toBe(bad);
    expect(refusedForTime.length).toBeLessThanOrEqual(offClockIds.size);
    for (const d of dlq) {
      const original = messages.findIndex((m) => (m.value === null ? d.value === null || d.value.length === 0 : d.value !== null && m.value.equals(d.value)));
      expect(original, 'a DLQ entry carries the original bytes').toBeGreaterThanOrEqual(0);
      expect(header(d, DLQ_HEADERS.detail)?.length).toBeGreaterThan(0);
    }
    // every value the oracle refuses is in the DLQ with that reason (matched by its bytes)
    const dlqReasonsOf = new Map<string, string[]>();
    for (const d of dlq) {
      const k = d.value === null ? '' : d.value.toString('base64');
      dlqReasonsOf.set(k, [...(dlqReasonsOf.get(k) ?? []), header(d, DLQ_HEADERS.reason)!]);
    }
    messages.forEach((m, i) => {
      const x = expected[i]!;
      if (x.ok) return;
      const k = m.value === null ? '' : m.value.toString('base64');
      expect(dlqReasonsOf.get(k) ?? [], `${m.kind} message ${i}`).toContain(x.reason);
    });
    // every valid event (the first copy of each id) is handled: its eventId is marked seen
    const ids = [...firstOfId.keys()].filter((id) => !offClockIds.has(id));
    const marked = await Promise.all(ids.map((id) => monitor.redis.exists(monitor.keys.seenEvent(id))));
    expect(ids.filter((_, i) => marked[i] !== 1)).toEqual([]);
    expect(deadLettered).toBe(bad);
    expect(monitor.ingest.stats.handled + monitor.ingest.stats.duplicates).toBe(messages.length - bad);
    // the user breakers of the strange (but valid) user ids were tripped: findings reached the breakers
    const tripped = await waitFor(async () => {
      const states = await Promise.all(STRANGE.map((u) => monitor.redis.exists(monitor.keys.breakerState('user', u))));
      const keys = STRANGE.filter((_, i) => states[i] === 1);
      return keys.length > 0 ? keys : undefined;
    }, { timeoutMs: 30_000, description: 'user breakers tripped by the duplicate pairs' });
    expect(tripped.length).toBeGreaterThan(0);
    // no personal data or raw user id of the events in the log
    expect(logLines.join('\n')).not.toContain('bob@example.com');
    record('ingest live: messages through Kafka', messages.length);
    if (LONG) process.stdout.write(`live ingest fuzz: ${messages.length} messages, ${bad} dead-lettered (${[...new Set(reasons)].join(', ')}), ${ids.length} handled, seed ${seed}\n`);
  }, 300_000);
});
