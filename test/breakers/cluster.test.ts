import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectRedis, type RedisClient } from '../../src/redis/connection.ts';
import { BreakerStore } from '../../src/breakers/breaker-store.ts';
import { createBreakerClient, type BreakerTransition } from '@vigil/breaker-client';
import { startRedisCluster, type RedisClusterHandle } from '../helpers/redis-cluster.ts';
import { cleanup, sampleReason, uniqueKeys } from './helpers.ts';
import { opsArbitrary } from './ops.ts';
import { parseBreakerPolicy } from '../../src/breakers/breaker-policy.ts';
import { FindingBreakers } from '../../src/breakers/finding-breakers.ts';
import { TransitionOutlet } from '../../src/breakers/transition-outlet.ts';
import { KafkaFindingPublisher } from '../../src/kafka/finding-publisher.ts';
import { PRODUCER_OPTIONS } from '../../src/kafka/kafka-client.ts';
import { TransitionPublisher } from '../../src/kafka/transition-publisher.ts';
import { EffectMarkers } from '../../src/redis/effect-markers.ts';
import { createTopics, readTopic, settledTopicSize, testKafka } from '../helpers/kafka-helpers.ts';
import { testConfig } from '../helpers/test-config.ts';
import { runOps } from './run-ops.ts';

/** The same breaker scripts, checks and listing on a local three-master Redis Cluster. */
describe('breakers on a three-master Redis Cluster', () => {
  let cluster: RedisClusterHandle;
  let redis: RedisClient;
  beforeAll(async () => {
    cluster = await startRedisCluster();
    redis = connectRedis({ url: cluster.url, cluster: true, connectionName: 'test-breakers-cluster' });
  });
  afterAll(async () => {
    await redis?.quit();
    await cluster?.stop();
  });

  it('spreads the breakers of one check over several masters (so the test means something)', async () => {
    const keys = uniqueKeys('slots');
    const slots = await Promise.all(
      [['global', 'all'], ['vendor', 'acme-air'], ['agent', 'travel-assistant'], ['user', 'u_4f2a'], ['action', 'flight.book']].map(([s, i]) =>
        (redis as import('ioredis').Cluster).cluster('KEYSLOT', keys.breakerState(s!, i!)),
      ),
    );
    expect(new Set(slots).size).toBe(5);
    expect(await (redis as import('ioredis').Cluster).cluster('KEYSLOT', keys.breakerFindings('vendor', 'acme-air'))).toBe(slots[1]);
  });

  it('Lua scripts agree with the reference model on random operation sequences', async () => {
    await fc.assert(
      fc.asyncProperty(opsArbitrary(30), fc.integer({ min: 1_600_000_000_000, max: 1_900_000_000_000 }), (ops, start) => runOps(redis, ops, start)),
      { numRuns: 40 },
    );
  });

  it('checks five scopes in different slots, lists across masters, and invalidates the cache by pub/sub', async () => {
    const keys = uniqueKeys('cluster');
    const store = new BreakerStore({ redis, keys });
    const seen: BreakerTransition[] = [];
    const client = createBreakerClient({ redisUrl: cluster.url, cluster: true, keyPrefix: keys.prefix, failMode: { default: 'closed' }, cache: true, cacheTtlMs: 600_000, onTransition: (t) => seen.push(t), timeoutMs: 1000 });
    try {
      await client.ready();
      const q = { vendor: 'acme-air', agent: 'travel-assistant', user: 'u_4f2a', action: 'flight.book' };
      expect(await client.check(q)).toMatchObject({ allowed: true, state: 'closed' });
      expect((await client.check(q)).degraded).toBeUndefined();
      await store.trip('user', 'u_4f2a', { findingId: 'f_c1', reason: sampleReason('f_c1', { ruleId: 'duplicate_action' }), settings: { baseMs: 600_000, capMs: 600_000, jitter: 0, trials: 1, trialTimeoutMs: 1000 } });
      await store.force('action', 'flight.book', { mode: 'forced_closed', actor: 'alice', note: 'allow-list', ttlMs: 600_000 });
      const deadline = Date.now() + 5000;
      while (seen.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      expect(seen.map((t) => t.cause).sort()).toEqual(['force_close', 'trip']);
      expect(await client.check(q)).toMatchObject({ allowed: false, blockingScope: { scope: 'user', id: 'u_4f2a' }, state: 'open' });
      const listed = await store.list();
      expect(listed.map((b) => `${b.scope}:${b.id}:${b.status.kind}`)).toEqual(['action:flight.book:forced_closed', 'user:u_4f2a:open']);
    } finally {
      await client.close();
      await cleanup(redis, keys);
    }
  });

  it('publishes a batch of findings and trips its breakers across masters, once (markers in many slots, no CROSSSLOT)', async () => {
    const keys = uniqueKeys('cluster-findings');
    const { config } = testConfig();
    await createTopics(config);
    const producer = testKafka(config).producer(PRODUCER_OPTIONS);
    await producer.connect();
    try {
      const stage = () => new FindingBreakers({
        findings: new KafkaFindingPublisher({ producer, topic: config.kafka.topics.findings, redis, keys }),
        breakers: new BreakerStore({ redis, keys }),
        transitions: new TransitionOutlet({ producer: new TransitionPublisher({ producer, topic: config.kafka.topics.breakerTransitions }) }),
        policy: () => parseBreakerPolicy(undefined, (p) => p),
      });
      const batch = Array.from({ length: 12 }, (_, i) => ({
        findingId: `f_cl_${i}`, kind: 'retry_spike' as const, severity: 'critical' as const, scope: { type: 'agent' as const, id: `agent-${i % 6}` },
        detectedAt: '2026-11-29T12:00:00.000Z', eventIds: [`e${i}`], ruleId: 'retry_spike', policyVersion: 'p-1', shadow: false, summary: 'retries',
      }));
      const markers = batch.map((f) => keys.findingEffect('published', f.findingId));
      const slots = await Promise.all(markers.map((k) => (redis as import('ioredis').Cluster).cluster('KEYSLOT', k)));
      expect(new Set(slots).size).toBeGreaterThan(6);
      const first = await stage().apply(batch);
      expect(first.transitions.map((t) => `${t.scopeId} ${t.cause} ${t.findingId}`)).toEqual(Array.from({ length: 6 }, (_, i) => `agent-${i} trip f_cl_${i}`));
      expect(await new EffectMarkers(redis).present(markers)).toEqual(markers.map(() => true));
      // On Kafka by id (kafkajs may write a message twice when it re-sends to a topic created a moment ago);
      // the repeated batch adds nothing.
      expect(new Set((await readTopic(config, config.kafka.topics.findings, 12)).map((m) => m.key!.toString()))).toEqual(new Set(batch.map((f) => f.findingId)));
      const size = { f: await settledTopicSize(config, config.kafka.topics.findings, 1000), t: await settledTopicSize(config, config.kafka.topics.breakerTransitions, 1000) };
      expect((await stage().apply(batch)).transitions).toEqual([]);
      expect(await settledTopicSize(config, config.kafka.topics.findings, 1000)).toBe(size.f);
      expect(await settledTopicSize(config, config.kafka.topics.breakerTransitions, 1000)).toBe(size.t);
    } finally {
      await producer.disconnect();
      await cleanup(redis, keys);
    }
  });
});
