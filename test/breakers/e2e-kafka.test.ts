import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentEvent } from '../../processors/core/events.ts';
import type { Finding } from '../../processors/core/finding.ts';
import { validateEvent } from '../../processors/core/validate-event.ts';
import { detectionHandlerFactory } from '../../src/app/detection-wiring.ts';
import { startMonitor, type Monitor } from '../../src/app/monitor.ts';
import { BreakerStore } from '../../src/breakers/breaker-store.ts';
import type { BreakerTransition } from '@vigil/breaker-client/protocol';
import type { CheckAnswer } from '@vigil/breaker-client/protocol';
import { createLogger } from '../../src/observability/logger.ts';
import { runTs } from '../helpers/child-process.ts';
import { createTopics, produceRaw, readTopic, testKafka } from '../helpers/kafka-helpers.ts';
import { testConfig } from '../helpers/test-config.ts';
import { waitFor } from '../helpers/wait.ts';

const CHECK_ONCE = fileURLToPath(new URL('./check-once.ts', import.meta.url));

/** A burst of failed calls to one vendor from several agents and users, then a later event that moves the watermark on. */
function vendorFailureBurst(run: string): AgentEvent[] {
  const t0 = Date.parse('2026-11-23T10:00:00.000Z');
  const out: AgentEvent[] = [];
  for (let i = 0; i < 24; i++) {
    out.push({
      eventId: `${run}-fail-${i}`, type: 'action.failed', occurredAt: new Date(t0 + i * 100).toISOString(),
      userId: `u_${i % 6}`, agentId: i % 2 ? 'travel-assistant' : 'trip-planner', agentVersion: '2.3.1', intentId: `${run}-i-${i}`,
      traceId: (i.toString(16) + '4bf92f3577b34da6a3ce929d0e0e4736').slice(0, 32),
      action: { name: 'flight.book', vendor: 'acme-air', riskTier: 'low', stateChanging: false },
      outcome: { status: 'error', httpStatus: 503, latencyMs: 120 },
    });
  }
  for (const e of out) validateEvent(e);
  return out;
}

/** An ordinary later event (for one partition) that moves the event-time watermark past the burst. */
function laterEvent(run: string, partition: number): AgentEvent {
  const e: AgentEvent = {
    eventId: `${run}-later-${partition}`, type: 'intent.parsed', occurredAt: '2026-11-23T10:00:12.000Z', userId: `u_p${partition}`, agentId: 'trip-planner',
    agentVersion: '2.3.1', intentId: `${run}-later-${partition}`, action: { name: 'flight.search', vendor: 'other-air', riskTier: 'low', stateChanging: false },
  };
  validateEvent(e);
  return e;
}

/**
 * Issue 4's end-to-end: a vendor failure burst produced to Kafka opens the vendor's breaker; check()
 * from a second process is denied with the reason; after the backoff a half-open trial succeeds and the
 * breaker closes; every transition appears on safety.breaker-transitions.
 */
describe('breakers end to end (Kafka → detectors → breaker → check from another process)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-brk-e2e-'));
  const policyPath = join(dir, 'policy.yaml');
  writeFileSync(policyPath, 'breakers:\n  rules:\n    vendor_failure_rate: { baseMs: 2000, capMs: 2000, jitter: 0, trials: 1 }\n');
  const { config } = testConfig({ VIGIL_POLICY: policyPath });
  let monitor: Monitor;
  const findings: Finding[] = [];
  const check = async (report: boolean): Promise<CheckAnswer> => {
    const child = runTs(CHECK_ONCE, [JSON.stringify({ redisUrl: config.redis.url, prefix: config.redis.keyPrefix, query: { vendor: 'acme-air', agent: 'travel-assistant', user: 'u_1', action: 'flight.book' }, report })], {});
    expect(await child.exited, child.stderr.join('')).toBe(0);
    return child.lines[0] as unknown as CheckAnswer;
  };

  beforeAll(async () => {
    await createTopics(config);
    const logger = createLogger({ level: 'error' });
    const detection = detectionHandlerFactory(config, logger, { onFinding: (f) => findings.push(f) })!;
    monitor = await startMonitor(config, {
      logger,
      serveMetrics: false,
      serveApi: false,
      // The monitor itself forwards the transitions that upstream checks make (cool-down end, trial outcomes).
      handler: detection,
    });
  });
  afterAll(async () => {
    await monitor?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('opens the vendor, denies a second process with the reason, then closes after a successful half-open trial', async () => {
    const run = config.redis.keyPrefix;
    const burst = vendorFailureBurst(run).map((e) => ({ key: e.userId, value: Buffer.from(JSON.stringify(e)) }));
    // The burst first, then (once consumed) a later event on every partition, which moves the watermark
    // past it: the detectors run by the lowest watermark of the partitions, and an event behind the
    // watermark by more than the lateness would be too late.
    await produceRaw(config, config.kafka.topics.actions, burst);
    await waitFor(() => monitor.ingest.stats.handled >= burst.length, { timeoutMs: 90_000, description: 'the burst consumed' });
    const producer = testKafka(config).producer({ allowAutoTopicCreation: false });
    await producer.connect();
    await producer.send({
      topic: config.kafka.topics.actions, acks: -1,
      messages: Array.from({ length: config.kafka.partitions }, (_, p) => ({ partition: p, key: `u_p${p}`, value: JSON.stringify(laterEvent(run, p)) })),
    });
    await producer.disconnect();
    const store = new BreakerStore({ redis: monitor.redis, keys: monitor.keys });
    const opened = await waitFor(async () => {
      const b = await store.get('vendor', 'acme-air');
      return b?.status.kind === 'open' ? b : undefined;
    }, { timeoutMs: 60_000, description: 'the vendor breaker to open' }).catch(async (e) => {
      const wm = await monitor.redis.hgetall(monitor.keys.detectorWatermarks());
      throw new Error(`${(e as Error).message}; stats ${JSON.stringify(monitor.ingest.stats)}, watermarks ${JSON.stringify(wm)}, findings ${JSON.stringify(findings.map((f) => [f.kind, f.scope]))}`);
    });
    if (opened.status.kind !== 'open') throw new Error('unreachable');
    expect(opened.status.reason).toMatchObject({ ruleId: 'vendor_failure_rate', kind: 'vendor_failure_rate' });
    expect(opened.status.reason.findingIds).toHaveLength(1);

    const denied = await check(false);
    expect(denied).toMatchObject({ allowed: false, blockingScope: { scope: 'vendor', id: 'acme-air' }, state: 'open' });
    expect(denied.reason).toContain('open by rule vendor_failure_rate');
    expect(denied.retryAfterMs).toBeGreaterThan(0);

    await new Promise((r) => setTimeout(r, denied.retryAfterMs! + 100)); // the backoff
    const trial = await check(true);
    expect(trial).toMatchObject({ allowed: true, state: 'half_open', permits: [{ scope: 'vendor', id: 'acme-air' }] });
    expect((await store.get('vendor', 'acme-air'))?.status.kind).toBe('closed');
    expect(await check(false)).toMatchObject({ allowed: true, state: 'closed' });

    const messages = await readTopic(config, config.kafka.topics.breakerTransitions, 3, 60_000);
    const registry = config.schemaRegistry.url ? new SchemaRegistry({ host: config.schemaRegistry.url }) : undefined;
    const transitions: BreakerTransition[] = [];
    for (const m of messages) transitions.push(m.value![0] === 0 && registry ? await registry.decode(m.value!) : JSON.parse(m.value!.toString()));
    expect(transitions.map((t) => `${t.scope}:${t.scopeId} ${t.from}->${t.to} ${t.cause}`)).toEqual([
      'vendor:acme-air closed->open trip',
      'vendor:acme-air open->half_open cooldown_elapsed',
      'vendor:acme-air half_open->closed trials_succeeded',
    ]);
    expect(transitions[0]!.findingId).toBe(opened.status.reason.findingIds[0]);
    expect(transitions[0]!.reason?.ruleId).toBe('vendor_failure_rate');
  }, 240_000);
});
