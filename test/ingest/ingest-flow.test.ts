import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { SchemaRegistry, SchemaType } from '@kafkajs/confluent-schema-registry';
import { startMonitor, type Monitor } from '../../src/app/monitor.ts';
import type { BatchHandler } from '../../src/ingest/batch-handler.ts';
import { silentLogger } from '../../src/observability/logger.ts';
import { produceCommand } from '../../src/cli/produce.ts';
import { DLQ_HEADERS } from '../../src/ingest/dead-letter.ts';
import { makeEvents } from '../fixtures/make-events.ts';
import { testConfig } from '../helpers/test-config.ts';
import { createTopics, header, produceRaw, readTopic } from '../helpers/kafka-helpers.ts';
import { waitFor } from '../helpers/wait.ts';

function captureIo(env: NodeJS.ProcessEnv) {
  const out: string[] = [];
  const err: string[] = [];
  const w = (arr: string[]) => Object.assign(new PassThrough(), { write: (c: string) => (arr.push(String(c)), true) });
  return { io: { stdout: w(out), stderr: w(err), stdin: new PassThrough(), env } as never, out, err };
}

/** Records every handed-on event id, in order. */
class Recorder implements BatchHandler {
  ids: string[] = [];
  async handle(events: readonly { eventId: string }[]): Promise<void> {
    for (const e of events) this.ids.push(e.eventId);
  }
}

describe('ingest against real Kafka, schema registry and Redis', () => {
  const { env, config } = testConfig();
  const recorder = new Recorder();
  let monitor: Monitor;

  beforeAll(async () => {
    await createTopics(config);
    monitor = await startMonitor(config, { logger: silentLogger, handler: () => recorder, serveMetrics: false });
  });
  afterAll(async () => {
    await monitor?.stop();
  });

  it('vigil produce publishes 10,000 events (Avro) and the monitor consumes and hands on each once', async () => {
    const events = makeEvents(10_000);
    const dir = mkdtempSync(join(tmpdir(), 'vigil-produce-'));
    const file = join(dir, 'events.jsonl');
    writeFileSync(file, events.map((e) => JSON.stringify(e)).join('\n') + '\n');
    const { io, err } = captureIo(env);
    expect(await produceCommand([file], io)).toBe(0);
    expect(err.join('')).toMatch(/produced 10000 events to .* \(Avro\)/);

    await waitFor(() => recorder.ids.length >= 10_000, { timeoutMs: 120_000, description: 'all 10,000 events handed on' });
    expect(new Set(recorder.ids).size).toBe(10_000);
    expect(recorder.ids.length).toBe(10_000);
    expect(new Set(recorder.ids)).toEqual(new Set(events.map((e) => e.eventId)));
    // metrics are counted once the batch is committed, just after the handler saw it
    await waitFor(() => monitor.ingest.stats.handled >= 10_000, { description: 'the last batch committed' });
    const text = await monitor.metrics.registry.getSingleMetricAsString('vigil_events_handled_total');
    expect(text).toMatch(new RegExp(`vigil_events_handled_total\\{topic="${config.kafka.topics.actions.replace(/\./g, '\\.')}"\\} 10000`));
    // every committed batch is timed in each of its stages, as many as vigil_batch_duration_seconds counts
    const stages = (await monitor.metrics.registry.getSingleMetric('vigil_batch_stage_seconds')!.get()).values.filter((v) => (v as { metricName?: string }).metricName === 'vigil_batch_stage_seconds_count');
    const batches = (await monitor.metrics.registry.getSingleMetric('vigil_batch_duration_seconds')!.get()).values.find((v) => (v as { metricName?: string }).metricName === 'vigil_batch_duration_seconds_count')!.value;
    expect(batches).toBeGreaterThan(0);
    expect(stages.map((v) => v.labels.stage).sort()).toEqual(['commit', 'dead_letter', 'decode', 'dedupe', 'handle', 'mark', 'wait']);
    for (const v of stages) expect(v.value).toBe(batches);
  }, 240_000);

  it('dead-letters every kind of bad input with its reason while good events around it flow on', async () => {
    const before = recorder.ids.length;
    const [g1, g2, g3, dup] = makeEvents(4);
    const wrongType = { ...makeEvents(1)[0]!, userId: 42 };
    const { userId: _u, ...missing } = makeEvents(1)[0]!;
    // A schema the registry knows but that is not ours: decodes, then fails validation.
    const registry = new SchemaRegistry({ host: config.schemaRegistry.url! });
    const other = await registry.register(
      { type: SchemaType.AVRO, schema: JSON.stringify({ type: 'record', name: 'Other', namespace: 'test', fields: [{ name: 'x', type: 'int' }] }) },
      { subject: `${config.kafka.topics.actions}-other-value` },
    );
    const bad: [string, Buffer | null][] = [
      ['undecodable', Buffer.from([0xff, 0x01, 0x02])],
      ['invalid_json', Buffer.from('{"eventId": "x", ')],
      ['unknown_schema', Buffer.concat([Buffer.from([0, 0x7f, 0xff, 0xff, 0xf0]), Buffer.from('junk')])],
      ['invalid_event', Buffer.from(JSON.stringify(missing))],
      ['invalid_event', Buffer.from(JSON.stringify(wrongType))],
      ['invalid_event', await registry.encode(other.id, { x: 1 })],
      ['oversized', Buffer.from(JSON.stringify({ ...g1, eventId: 'big', pad: 'x'.repeat(config.kafka.maxEventBytes) }))],
      ['empty', null],
    ];
    const good = [g1!, g2!, g3!, dup!, dup!];
    const messages = [
      { key: 'u', value: Buffer.from(JSON.stringify(good[0])) },
      ...bad.slice(0, 4).map(([, value]) => ({ key: 'u', value, headers: { 'x-origin': 'test' } })),
      { key: 'u', value: Buffer.from(JSON.stringify(good[1])) },
      ...bad.slice(4).map(([, value]) => ({ key: 'u', value, headers: { 'x-origin': 'test' } })),
      ...good.slice(2).map((e) => ({ key: 'u', value: Buffer.from(JSON.stringify(e)) })),
    ];
    await produceRaw(config, config.kafka.topics.actions, messages);

    const dlq = await readTopic(config, config.kafka.topics.dlq, bad.length);
    expect(dlq.map((m) => header(m, DLQ_HEADERS.reason)).sort()).toEqual(bad.map(([r]) => r).sort());
    for (const m of dlq) {
      expect(header(m, 'x-origin')).toBe('test'); // original headers kept
      expect(header(m, DLQ_HEADERS.detail)?.length).toBeGreaterThan(0);
      expect(header(m, DLQ_HEADERS.sourceTopic)).toBe(config.kafka.topics.actions);
      const original = bad.find(([r, v]) => r === header(m, DLQ_HEADERS.reason) && (v === null ? m.value === null || m.value.length === 0 : v.equals(m.value!)));
      expect(original, `DLQ message with reason ${header(m, DLQ_HEADERS.reason)} carries the original bytes`).toBeDefined();
    }
    const details = dlq.map((m) => `${header(m, DLQ_HEADERS.reason)}: ${header(m, DLQ_HEADERS.detail)}`);
    expect(details).toContainEqual(expect.stringMatching(/^invalid_event: userId: is required/));
    expect(details).toContainEqual(expect.stringMatching(/^invalid_event: userId: must be a string, got number/));
    expect(details).toContainEqual(expect.stringMatching(/^unknown_schema: schema id 2147483632 is not in the registry/));
    expect(details).toContainEqual(expect.stringMatching(/^oversized: the value is \d+ bytes, over the limit of 65536/));

    await waitFor(() => recorder.ids.length >= before + 4, { description: 'the good events handed on' });
    const handed = recorder.ids.slice(before);
    expect(handed.sort()).toEqual([g1!, g2!, g3!, dup!].map((e) => e.eventId).sort()); // the duplicate handed on once
    await waitFor(() => monitor.ingest.stats.deadLettered >= bad.length, { description: 'dead letters counted' });
    const metric = await monitor.metrics.registry.getSingleMetricAsString('vigil_events_dead_lettered_total');
    expect(metric).toMatch(/reason="oversized"\} 1/);
    expect(metric).toMatch(/reason="invalid_event"\} 3/);
    expect(monitor.ingest.stats.duplicates).toBeGreaterThanOrEqual(1);
  }, 120_000);
});
