import type { Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Finding } from '../../processors/core/finding.ts';
import { applyFinding } from '../../src/breakers/apply-finding.ts';
import { parseBreakerPolicy } from '../../src/breakers/breaker-policy.ts';
import { BreakerStore } from '../../src/breakers/breaker-store.ts';
import { FindingBreakers } from '../../src/breakers/finding-breakers.ts';
import { TransitionOutlet } from '../../src/breakers/transition-outlet.ts';
import type { BreakerTransition } from '../../src/breakers/transition.ts';
import { KafkaFindingPublisher } from '../../src/kafka/finding-publisher.ts';
import { PRODUCER_OPTIONS } from '../../src/kafka/kafka-client.ts';
import { TransitionPublisher } from '../../src/kafka/transition-publisher.ts';
import { connectRedis, type RedisClient } from '../../src/redis/connection.ts';
import type { KeyBuilder } from '../../src/redis/keys.ts';
import { createTopics, readTopic, settledTopicSize, testKafka } from '../helpers/kafka-helpers.ts';
import { testConfig } from '../helpers/test-config.ts';
import { cleanup, TEST_REDIS_URL, uniqueKeys } from './helpers.ts';

const T0 = Date.parse('2026-11-29T12:00:00.000Z');
const policy = parseBreakerPolicy({ rules: { unmasked_pii: { scope: 'agent', shadow: true } } }, (p) => p);

function finding(id: string, kind: Finding['kind'], scope: Finding['scope']): Finding {
  return {
    findingId: id, kind, severity: 'critical', scope, detectedAt: new Date(T0).toISOString(), eventIds: [`e-${id}`], ruleId: kind,
    policyVersion: 'p-1', shadow: false, summary: `${kind} on ${scope.type}:${scope.id}`, metrics: { observed: 31, threshold: 30 },
  };
}

/**
 * A batch where order matters: several findings on the same breakers (the first trips, the next find it
 * open), interleaved across 12 agents, a user and a vendor, a shadow finding, a repeated finding, and
 * one breaker whose operator override expires at the first trip (two transitions from one script).
 */
function mixedBatch(tag: string): Finding[] {
  const out: Finding[] = [];
  for (let round = 0; round < 3; round++) {
    for (let a = 0; a < 12; a++) out.push(finding(`${tag}-rs-${round}-${a}`, 'retry_spike', { type: 'agent', id: `agent-${a}` }));
    out.push(finding(`${tag}-dup-${round}`, 'duplicate_action', { type: 'user', id: 'u_1' }));
    out.push(finding(`${tag}-vf-${round}`, 'vendor_failure_rate', { type: 'vendor', id: 'acme-air' }));
  }
  out.push(finding(`${tag}-pii`, 'unmasked_pii', { type: 'agent', id: 'agent-3' }));
  out.push(out[0]!); // the same finding twice in one batch
  return out;
}

/** The breakers as stored, without the prefix: what two runs on different prefixes must agree on. */
async function breakersOf(store: BreakerStore): Promise<unknown[]> {
  return (await store.list()).map((b) => ({ scope: b.scope, id: b.id, status: b.status, trips: b.trips, seq: b.seq, findings: b.findings }));
}

/** Sets up the override on agent-0 that has expired by T0 (forced at T0 - 10 s for 5 s). */
async function expiredOverride(redis: RedisClient, keys: KeyBuilder): Promise<void> {
  const early = new BreakerStore({ redis, keys, clock: () => T0 - 10_000 });
  await early.force('agent', 'agent-0', { mode: 'forced_open', actor: 'alice', note: 'hold', ttlMs: 5000 });
}

describe('FindingBreakers (findings → breakers, batched)', () => {
  const { config } = testConfig();
  let redis: RedisClient;
  let producer: Producer;
  const prefixes: KeyBuilder[] = [];
  const keysFor = (tag: string) => {
    const k = uniqueKeys(`fb-${tag}`);
    prefixes.push(k);
    return k;
  };
  /** Every produce the stage makes (topic, message count): the real producer, watched. */
  const sends: { topic: string; n: number }[] = [];
  const watched = (p: Producer): Producer =>
    Object.assign(Object.create(p) as Producer, {
      send: (r: Parameters<Producer['send']>[0]) => {
        sends.push({ topic: r.topic, n: r.messages.length });
        return p.send(r);
      },
    });
  const stage = (keys: KeyBuilder, p: Producer = watched(producer), extra: { onShadow?: (f: Finding) => void } = {}) =>
    new FindingBreakers({
      findings: new KafkaFindingPublisher({ producer: p, topic: config.kafka.topics.findings, redis, keys }),
      breakers: new BreakerStore({ redis, keys, clock: () => T0 }),
      transitions: new TransitionOutlet({ producer: new TransitionPublisher({ producer: p, topic: config.kafka.topics.breakerTransitions }) }),
      policy: () => policy,
      ...(extra.onShadow ? { onShadow: extra.onShadow } : {}),
    });

  beforeAll(async () => {
    await createTopics(config);
    redis = connectRedis({ url: TEST_REDIS_URL, connectionName: 'test-finding-breakers' });
    producer = testKafka(config).producer(PRODUCER_OPTIONS);
    await producer.connect();
  });
  afterAll(async () => {
    await producer?.disconnect();
    for (const k of prefixes) await cleanup(redis, k);
    await redis?.quit();
  });

  it('refuses a BreakerStore that publishes its transitions itself (they would go out twice)', () => {
    const keys = keysFor('refuse');
    expect(() => new FindingBreakers({
      findings: new KafkaFindingPublisher({ producer, topic: config.kafka.topics.findings, redis, keys }),
      breakers: new BreakerStore({ redis, keys, publishTransition: () => {} }),
      transitions: { publish: async () => {} },
      policy: () => policy,
    })).toThrow(/BreakerStore without publishTransition/);
  });

  it('makes the same transitions and breakers as applying the findings one by one, and produces them once, in order', async () => {
    const batch = mixedBatch('seq');
    // Sequential reference: one finding at a time, each trip awaited, each transition handed on at once.
    const seqKeys = keysFor('seq');
    await expiredOverride(redis, seqKeys);
    const sequential: BreakerTransition[] = [];
    const seqStore = new BreakerStore({ redis, keys: seqKeys, clock: () => T0, publishTransition: (t) => void sequential.push(t) });
    const seqOutcomes: string[] = [];
    for (const f of batch) seqOutcomes.push(...(await applyFinding(seqStore, f, policy, f.subjects)).results.map((r) => r.outcome));

    const batchKeys = keysFor('batch');
    await expiredOverride(redis, batchKeys);
    const shadows: string[] = [];
    const applied = await stage(batchKeys, undefined, { onShadow: (f) => shadows.push(f.findingId) }).apply(batch);

    // The repeated finding's trip hands its original transition on again in the sequential run; the stage produces it once.
    const seqUnique = [...new Map(sequential.map((t) => [t.transitionId, t])).values()];
    expect(applied.transitions).toEqual(seqUnique);
    expect(applied.transitions.map((t) => `${t.scope}:${t.scopeId} ${t.from}->${t.to} ${t.cause} ${t.findingId ?? ''}`).slice(0, 4)).toEqual([
      'agent:agent-0 forced_open->closed override_expired ',
      'agent:agent-0 closed->open trip seq-rs-0-0',
      'agent:agent-1 closed->open trip seq-rs-0-1',
      'agent:agent-2 closed->open trip seq-rs-0-2',
    ]);
    // 12 agents, the user and the vendor each tripped once by the first finding on it (plus the expiry).
    expect(applied.transitions.filter((t) => t.cause === 'trip')).toHaveLength(14);
    expect(applied.transitions.filter((t) => t.cause === 'trip').every((t) => /-0(-\d+)?$/.test(t.findingId!))).toBe(true);
    expect(applied.results.map((r) => r.outcome)).toEqual(seqOutcomes);
    expect(seqOutcomes.filter((o) => o === 'tripped')).toHaveLength(14);
    expect(seqOutcomes.at(-1)).toBe('duplicate');
    expect(shadows).toEqual(['seq-pii']);
    expect(await breakersOf(new BreakerStore({ redis, keys: batchKeys }))).toEqual(await breakersOf(new BreakerStore({ redis, keys: seqKeys })));

    // One produce of the findings and one of the transitions. On Kafka: every finding and transition,
    // one breaker's transitions in order. (Counted by id: kafkajs, not idempotent, may write a message
    // twice when it re-sends after a partition error of a topic created a moment ago; consumers key on ids.)
    const distinct = new Set(batch.map((f) => f.findingId));
    expect(sends).toEqual([{ topic: config.kafka.topics.findings, n: distinct.size }, { topic: config.kafka.topics.breakerTransitions, n: seqUnique.length }]);
    const findingsOnTopic = await readTopic(config, config.kafka.topics.findings, distinct.size);
    expect(new Set(findingsOnTopic.map((m) => m.key!.toString()))).toEqual(distinct);
    const onTopic = (await readTopic(config, config.kafka.topics.breakerTransitions, seqUnique.length)).map((m) => JSON.parse(m.value!.toString()) as BreakerTransition);
    expect(new Set(onTopic.map((t) => t.transitionId))).toEqual(new Set(seqUnique.map((t) => t.transitionId)));
    const agent0 = onTopic.filter((t) => t.scopeId === 'agent-0');
    expect(agent0.map((t) => t.cause).slice(0, 2)).toEqual(['override_expired', 'trip']);
  });

  it('repeats no finding and no transition for a retried batch, and produces what a failed attempt left behind', async () => {
    const keys = keysFor('retry');
    const before = {
      findings: await settledTopicSize(config, config.kafka.topics.findings, 1000),
      transitions: await settledTopicSize(config, config.kafka.topics.breakerTransitions, 1000),
    };
    const batch = [finding('retry-a', 'retry_spike', { type: 'agent', id: 'r-agent' }), finding('retry-b', 'vendor_failure_rate', { type: 'vendor', id: 'r-vendor' })];

    // An attempt whose producer is gone: the findings cannot be produced, nothing is tripped.
    const gone = testKafka(config).producer(PRODUCER_OPTIONS);
    const failed = await stage(keys, gone).apply(batch).catch((e: unknown) => e);
    expect(failed).toBeInstanceOf(Error);
    expect(await new BreakerStore({ redis, keys }).list()).toEqual([]);

    // An attempt that tripped in Redis but lost Kafka before the transitions went out (crash between the two).
    const half = testKafka(config).producer(PRODUCER_OPTIONS);
    await half.connect();
    const halfStage = new FindingBreakers({
      findings: new KafkaFindingPublisher({ producer, topic: config.kafka.topics.findings, redis, keys }),
      breakers: new BreakerStore({ redis, keys, clock: () => T0 }),
      transitions: new TransitionOutlet({ producer: new TransitionPublisher({ producer: half, topic: config.kafka.topics.breakerTransitions }) }),
      policy: () => policy,
    });
    await half.disconnect();
    await expect(halfStage.apply(batch)).rejects.toThrow();
    expect((await new BreakerStore({ redis, keys }).list()).map((b) => `${b.scope}:${b.id} ${b.status.kind}`)).toEqual(['agent:r-agent open', 'vendor:r-vendor open']);

    // The retry produces the two trips (same ids as made), and no finding; a second retry produces nothing.
    sends.length = 0;
    const retried = await stage(keys).apply(batch);
    expect(retried.results.map((r) => r.outcome)).toEqual(['duplicate', 'duplicate']);
    expect(retried.transitions.map((t) => `${t.scope}:${t.scopeId} ${t.cause} ${t.findingId}`)).toEqual(['agent:r-agent trip retry-a', 'vendor:r-vendor trip retry-b']);
    expect(sends).toEqual([{ topic: config.kafka.topics.breakerTransitions, n: 2 }]);
    const again = await stage(keys).apply(batch);
    expect(again.transitions).toEqual([]);
    expect(sends).toHaveLength(1);
    expect(await settledTopicSize(config, config.kafka.topics.findings, 1500)).toBe(before.findings + 2);
    expect(await settledTopicSize(config, config.kafka.topics.breakerTransitions, 1500)).toBe(before.transitions + 2);
  });
});
