import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Finding } from '../../processors/core/finding.ts';
import { detectionHandlerFactory } from '../../src/app/detection-wiring.ts';
import { startMonitor, type Monitor } from '../../src/app/monitor.ts';
import { replayCommand } from '../../src/cli/replay.ts';
import { DLQ_HEADERS } from '../../src/ingest/dead-letter.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { createTopics, header, readTopic, testKafka } from '../helpers/kafka-helpers.ts';
import { testConfig } from '../helpers/test-config.ts';
import { waitFor } from '../helpers/wait.ts';

const TRAFFIC = fileURLToPath(new URL('../../samples/demo-traffic.jsonl', import.meta.url));
const TEN_YEARS = 3652 * 86_400_000;
const dir = mkdtempSync(join(tmpdir(), 'vigil-event-time-'));

/** The demo traffic with one copy of an ordinary event dated ten years ahead and one ten years back. */
function hostileTraffic(): string[] {
  const lines = readFileSync(TRAFFIC, 'utf8').trim().split('\n');
  const copy = (i: number, shift: number, id: string) => {
    const e = JSON.parse(lines[i]!) as { eventId: string; occurredAt: string };
    return JSON.stringify({ ...e, eventId: id, occurredAt: new Date(Date.parse(e.occurredAt) + shift).toISOString() });
  };
  const out = [...lines];
  out.splice(150, 0, copy(150, -TEN_YEARS, 'e2e-clock-past'));
  out.splice(60, 0, copy(60, TEN_YEARS, 'e2e-clock-future'));
  return out;
}

/**
 * The monitor scenario on real Kafka: a 4-partition input whose traffic lands on partitions
 * 0–2 only, with two hostile clocks. The findings come without any event on partition 3, equal to
 * `vigil replay` of the same lines; the two hostile events are dead-lettered with their reason (replay
 * reports them by line); the metrics, the stall log line and /readyz show where event time stands.
 */
describe('event time end to end (a never-written partition, hostile clocks)', () => {
  const { config } = testConfig({
    VIGIL_PARTITIONS: '4',
    VIGIL_LOG_LEVEL: 'info',
    VIGIL_IDLE_PARTITION_MS: '2500',
    VIGIL_WATERMARK_TICK_MS: '200',
    VIGIL_WATERMARK_STALL_LOG_MS: '2000',
  });
  const logs: Record<string, unknown>[] = [];
  const logger = createLogger({ level: 'info', write: (l) => logs.push(JSON.parse(l) as Record<string, unknown>) });
  const raised = new Map<string, Finding>();
  let monitor: Monitor | undefined;

  beforeAll(async () => {
    await createTopics(config);
  });
  afterAll(async () => {
    await monitor?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('settles without partition 3, refuses the hostile clocks, and agrees with vigil replay', async () => {
    const lines = hostileTraffic();
    const file = join(dir, 'traffic.jsonl');
    writeFileSync(file, lines.join('\n') + '\n');
    const producer = testKafka(config).producer({ allowAutoTopicCreation: false });
    await producer.connect();
    await producer.send({
      topic: config.kafka.topics.actions,
      acks: -1,
      messages: lines.map((value) => {
        const userId = (JSON.parse(value) as { userId: string }).userId;
        return { key: userId, value, partition: [...userId].reduce((h, c) => (h * 31 + c.charCodeAt(0)) >>> 0, 7) % 3 };
      }),
    });
    await producer.disconnect();

    monitor = await startMonitor(config, { logger, handler: detectionHandlerFactory(config, logger, { onFinding: (f) => raised.set(f.findingId, f) }) });
    await waitFor(() => monitor!.ingest.stats.consumed >= lines.length, { timeoutMs: 90_000, description: 'all events consumed' });

    // vigil replay of the same lines
    let out = '';
    let err = '';
    const stdout = new PassThrough().on('data', (c) => (out += c));
    const stderr = new PassThrough().on('data', (c) => (err += c));
    expect(await replayCommand([file, '--format', 'jsonl'], { stdout, stderr, stdin: Readable.from([]) })).toBe(0);
    const replayed = out.trim().split('\n').map((l) => JSON.parse(l) as Finding);
    expect(replayed).toHaveLength(7);
    expect(err).toContain('line 61: event time out of bounds (too_far_ahead), refused: occurredAt 2036-');
    expect(err).toContain('line 152: event time out of bounds (too_far_behind), refused: occurredAt 2016-');
    expect(err).toMatch(/\(0 duplicates, 0 bad lines, 2 out of bounds\)/);

    // live: every finding, with nothing ever sent to partition 3
    await waitFor(() => raised.size >= replayed.length || undefined, { timeoutMs: 60_000, description: `the ${replayed.length} findings` });
    expect([...raised.keys()].sort()).toEqual(replayed.map((f) => f.findingId).sort());

    const dead = await readTopic(config, config.kafka.topics.dlq, 2);
    expect(dead.map((m) => [JSON.parse(m.value!.toString()).eventId, header(m, DLQ_HEADERS.reason), header(m, DLQ_HEADERS.detail)?.split(':')[0]]).sort()).toEqual([
      ['e2e-clock-future', 'event_time_out_of_bounds', 'too_far_ahead'],
      ['e2e-clock-past', 'event_time_out_of_bounds', 'too_far_behind'],
    ]);

    // what an operator sees: metrics, /readyz, and a log line once event time stops moving
    const metrics = await (await fetch(`http://127.0.0.1:${monitor.metricsPort}/metrics`)).text();
    const topic = config.kafka.topics.actions;
    expect(metrics).toContain(`vigil_events_out_of_bounds_total{topic="${topic}",reason="too_far_ahead"} 1`);
    expect(metrics).toContain(`vigil_events_out_of_bounds_total{topic="${topic}",reason="too_far_behind"} 1`);
    expect(metrics).toContain(`vigil_events_dead_lettered_total{topic="${topic}",reason="event_time_out_of_bounds"} 2`);
    expect(metrics).toContain(`vigil_partitions_never_spoke{topic="${topic}"} 1`);
    expect(metrics).toMatch(new RegExp(`vigil_watermark_seconds\\{topic="${topic.replace(/\./g, '\\.')}"\\} \\d{10}`));
    const ready = (await (await fetch(`http://127.0.0.1:${monitor.apiPort}/readyz`)).json()) as { status: string; details: { eventTime: { partitions: { state: string }[]; why: string }[] } };
    expect(ready.status).toBe('ready');
    expect(ready.details.eventTime[0]!.partitions.map((p) => p.state).at(-1)).toBe('never_spoke');
    const stalls = () => logs.filter((l) => l.msg === 'event-time watermark has not moved').map((l) => String(l.why));
    await waitFor(() => stalls().some((why) => why.startsWith('no traffic: every partition has been quiet')) || undefined, { timeoutMs: 20_000, description: 'the stall log line (no traffic)' });
  }, 240_000);
});
