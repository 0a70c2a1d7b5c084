import { PassThrough, Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KafkaMessage } from 'kafkajs';
import { startMonitor, type Monitor } from '../../src/app/monitor.ts';
import { BreakerStore } from '../../src/breakers/breaker-store.ts';
import type { BreakerTransition } from '../../src/breakers/transition.ts';
import { breakersCommand } from '../../src/cli/breakers.ts';
import type { CommandIo } from '../../src/cli/io.ts';
import { loadConfig, type Config } from '../../src/config/config.ts';
import { createRegistryClient, registryConnection } from '../../src/kafka/schema-registry.ts';
import { silentLogger } from '../../src/observability/logger.ts';
import { connectRedis, type RedisClient } from '../../src/redis/connection.ts';
import { KeyBuilder } from '../../src/redis/keys.ts';
import { createTopics, readTopic, settledTopicSize } from '../helpers/kafka-helpers.ts';
import { freePort } from '../helpers/redis-server.ts';
import { testConfig } from '../helpers/test-config.ts';
import { waitFor } from '../helpers/wait.ts';

/**
 * Every operator override reaches the Kafka audit topic (safety.breaker-transitions) with who, what, why
 * and until when, whoever made it and whether or not a monitor runs: the override script writes the
 * record to the breaker's Redis outbox in the same step as the change, the CLI publishes it and deletes
 * it, and a monitor relays whatever a writer left behind (crash between write and publish, Kafka down),
 * exactly once.
 */
function io(): CommandIo & { out(): string; err(): string } {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let o = '';
  let e = '';
  stdout.on('data', (d) => (o += d));
  stderr.on('data', (d) => (e += d));
  return { stdout, stderr, stdin: Readable.from([]), env: {}, out: () => o, err: () => e };
}

async function decodeAll(config: Config, messages: KafkaMessage[]): Promise<BreakerTransition[]> {
  const registry = createRegistryClient(registryConnection(config)!);
  return Promise.all(messages.map(async (m) => (await registry.decode(m.value!)) as BreakerTransition));
}

describe('override audit trail', () => {
  let redis: RedisClient;
  beforeAll(() => {
    redis = connectRedis({ url: testConfig().config.redis.url, connectionName: 'test-audit-trail' });
  });
  afterAll(async () => {
    await redis.quit();
  });

  it('N overrides with `vigil breakers` and no monitor running: N records on the audit topic with actor, reason and until; no outbox left', async () => {
    const { config } = testConfig({ VIGIL_ADMIN_WRITE_DEADLINE_MS: '3000' });
    await createTopics(config);
    const keys = new KeyBuilder(config.redis.keyPrefix);
    const cmds: string[][] = [
      ['open', 'vendor', 'acme-air', '--actor', 'alice', '--reason', 'incident 42', '--ttl', '15m'],
      ['open', 'agent', 'travel:assistant', '--actor', 'bob', '--reason', 'runaway loop', '--ttl', '1h'],
      ['close', 'user', 'u_ø42', '--actor', 'carol', '--reason', 'false positive', '--ttl', '90'],
      ['open', 'action', 'flight.book', '--actor', 'dave', '--reason', 'vendor outage', '--ttl', '2h'],
      ['reset', 'vendor', 'acme-air', '--actor', 'alice', '--reason', 'vendor fixed'],
      ['close', 'global', 'all', '--actor', 'erin', '--reason', 'drill', '--ttl', '60'],
    ];
    const printed: string[] = [];
    for (const argv of cmds) {
      const x = io();
      const code = await breakersCommand(argv, x, config);
      expect(code, x.err()).toBe(0);
      expect(x.out()).toContain(`audited: 1 record on ${config.kafka.topics.breakerTransitions}`);
      printed.push(...[...x.out().matchAll(/^transition (tr_[0-9a-f]{32}):/gm)].map((m) => m[1]!));
    }
    expect(printed).toHaveLength(cmds.length);
    const records = await decodeAll(config, await readTopic(config, config.kafka.topics.breakerTransitions, cmds.length));
    expect(await settledTopicSize(config, config.kafka.topics.breakerTransitions, 1500)).toBe(cmds.length);
    expect(records.map((t) => t.transitionId).sort()).toEqual([...printed].sort());
    const byActor = Object.fromEntries(records.map((t) => [`${t.actor}:${t.cause}`, t]));
    expect(byActor['alice:force_open']).toMatchObject({ scope: 'vendor', scopeId: 'acme-air', to: 'forced_open', note: 'incident 42' });
    expect(byActor['alice:force_open']!.until! - byActor['alice:force_open']!.at).toBe(15 * 60_000);
    expect(byActor['bob:force_open']).toMatchObject({ scope: 'agent', scopeId: 'travel:assistant', note: 'runaway loop' });
    expect(byActor['carol:force_close']).toMatchObject({ scope: 'user', scopeId: 'u_ø42', to: 'forced_closed', note: 'false positive' });
    expect(byActor['carol:force_close']!.until! - byActor['carol:force_close']!.at).toBe(90_000);
    expect(byActor['alice:reset']).toMatchObject({ from: 'forced_open', to: 'closed', note: 'vendor fixed', until: null });
    expect(byActor['erin:force_close']).toMatchObject({ scope: 'global', scopeId: 'all' });
    for (const [scope, id] of [['vendor', 'acme-air'], ['agent', 'travel:assistant'], ['user', 'u_ø42'], ['action', 'flight.book'], ['global', 'all']]) {
      expect(await redis.xlen(keys.breakerAudit(scope!, id!)), `${scope}:${id}`).toBe(0);
    }
  });

  it('a crash between the write and the publish, and a CLI without Kafka: the records wait in the Redis outbox; a monitor relays each exactly once', async () => {
    const { config, env } = testConfig({ VIGIL_ADMIN_WRITE_DEADLINE_MS: '1000' });
    await createTopics(config);
    const topic = config.kafka.topics.breakerTransitions;
    const keys = new KeyBuilder(config.redis.keyPrefix);
    // A writer that died right after Redis applied its override: no publisher ran.
    const crashed = await new BreakerStore({ redis, keys, writeDeadlineMs: 1000 }).force('user', 'u_crash', { mode: 'forced_open', actor: 'frank', note: 'fraud review', ttlMs: 600_000 });
    expect(crashed.audit).toEqual({ published: 0, pending: 1 });
    // The CLI with Kafka unreachable: the override is applied, and it says where its record waits.
    const noKafka = loadConfig({ ...env, KAFKA_BROKERS: `127.0.0.1:${await freePort()}` });
    const x = io();
    expect(await breakersCommand(['open', 'vendor', 'down-air', '--actor', 'gina', '--reason', 'no kafka', '--ttl', '10m'], x, noKafka), x.err()).toBe(0);
    expect(x.err()).toMatch(/applied, but 1 audit record is not on .* yet \(.*\): kept in Redis \(.*:brk:\{vendor:down-air\}:audit\), a running monitor publishes it/);
    expect(await redis.xlen(keys.breakerAudit('vendor', 'down-air'))).toBe(1);
    expect(await settledTopicSize(config, topic, 500)).toBe(0);

    let monitor: Monitor | undefined;
    try {
      monitor = await startMonitor(config, { logger: silentLogger, serveMetrics: false, serveApi: false });
      const records = await decodeAll(config, await readTopic(config, topic, 2, 30_000));
      expect(records.map((t) => `${t.actor}:${t.scope}:${t.scopeId}:${t.to}`).sort()).toEqual(['frank:user:u_crash:forced_open', 'gina:vendor:down-air:forced_open']);
      expect(records.find((t) => t.actor === 'frank')!.transitionId).toBe(crashed.transitions[0]!.transitionId);
      // The outboxes are emptied, and the pending set pruned once the writes' deadlines are past.
      await waitFor(async () => (await redis.zcard(keys.breakerAuditPending())) === 0, { timeoutMs: 15_000 });
      expect(await redis.xlen(keys.breakerAudit('user', 'u_crash'))).toBe(0);
      expect(await redis.xlen(keys.breakerAudit('vendor', 'down-air'))).toBe(0);
      // Exactly once: nothing more arrives over several more relay passes.
      await new Promise((r) => setTimeout(r, 5000));
      expect(await settledTopicSize(config, topic, 1500)).toBe(2);
    } finally {
      await monitor?.stop();
    }
  });
});
