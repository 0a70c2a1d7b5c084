import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureDebianBinary } from '../../scripts/tools/debian-tools.ts';
import { loadConfig } from '../../src/config/config.ts';
import { REPO_ROOT, runTs, type Child } from '../helpers/child-process.ts';
import { createTopics, produceRaw } from '../helpers/kafka-helpers.ts';
import { freePorts } from '../helpers/redis-server.ts';
import { testEnv } from '../helpers/test-config.ts';
import { waitFor } from '../helpers/wait.ts';
import { startOtlpReceiver, type OtlpSpan } from './otlp-receiver.ts';
import { startPrometheus, type PrometheusHandle } from './prometheus-server.ts';

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));

function logLines(child: Child): { msg: string; [k: string]: unknown }[] {
  return child.stderr.join('').split('\n').flatMap((l) => {
    try {
      return [JSON.parse(l) as { msg: string }];
    } catch {
      return [];
    }
  });
}

const hex = (n: number) => randomBytes(n).toString('hex');
const sha = (s: string) => 'sha256:' + createHash('sha256').update(s).digest('hex');

/**
 * A user booked the same flight twice under two idempotency keys (duplicate_action, critical), each
 * event on the agent's trace (W3C traceparent header and traceId), then quiet traffic that moves event
 * time past the allowed lateness.
 */
function duplicateBooking(user: string, t0: number) {
  const traceId = hex(16);
  const intent = `i-${hex(6)}`;
  const action = { name: 'flight.book', vendor: 'globe-air', riskTier: 'high', stateChanging: true, amountMinor: 84200, currency: 'EUR' };
  const ph = sha(`booking-${user}`);
  const base = { userId: user, agentId: 'travel-assistant', agentVersion: '2.3.1', intentId: intent, traceId };
  const at = (s: number) => new Date(t0 + s * 1000).toISOString();
  const events: Record<string, unknown>[] = [
    { type: 'intent.parsed', occurredAt: at(0), ...base, action },
    { type: 'confirmation.requested', occurredAt: at(0.5), ...base, action, payloadHash: ph },
    { type: 'confirmation.accepted', occurredAt: at(1), ...base, action, payloadHash: ph },
    { type: 'stepup.passed', occurredAt: at(1.5), ...base, action },
  ];
  for (const [i, key] of [`idk-${hex(4)}`, `idk-${hex(4)}`].entries()) {
    events.push({ type: 'action.requested', occurredAt: at(2 + i * 2), ...base, action, attempt: 1, idempotencyKey: key, payloadHash: ph, scopes: ['flights:write'], requiredScope: 'flights:write' });
    events.push({ type: 'action.succeeded', occurredAt: at(2.5 + i * 2), ...base, action, attempt: 1, idempotencyKey: key, payloadHash: ph, outcome: { status: 'ok', httpStatus: 201, vendorRef: `GA${i}${hex(3)}` } });
  }
  for (let k = 0; k < 4; k++) events.push({ type: 'intent.parsed', occurredAt: at(10 + k * 10), userId: `${user}-quiet`, agentId: 'travel-assistant', agentVersion: '2.3.1', intentId: `i-${hex(6)}`, action: { name: 'flight.search', vendor: 'globe-air', riskTier: 'low', stateChanging: false } });
  const spans = new Map<string, string>(); // eventId → the agent's span id in its traceparent header
  const messages = events.map((e) => {
    const eventId = `e-${hex(8)}`;
    const spanId = hex(8);
    const withId: Record<string, unknown> = { eventId, ...e };
    const onTrace = withId.traceId === traceId;
    if (onTrace) spans.set(eventId, spanId);
    return { key: String(e.userId), value: Buffer.from(JSON.stringify(withId)), headers: onTrace ? { traceparent: `00-${traceId}-${spanId}-01` } : undefined, eventId };
  });
  return { traceId, messages, spans };
}

/**
 * Issue 11, the real loop: the real Prometheus server (Debian's package) scrapes a real `vigil run` on
 * the shared stack with the shipped recording and alerting rules; a duplicate booking is produced; the
 * KPI series appear and VigilCriticalFinding fires through Prometheus's HTTP API. The same run exports
 * its spans over OTLP/HTTP (JSON) to a receiver in this process: a span per batch with the messaging
 * conventions, linked to the agent's spans, and a span per finding in the agent's trace.
 */
describe('vigil run → Prometheus with the shipped rules, and OTLP traces', () => {
  let run: Child | undefined;
  let prom: PrometheusHandle | undefined;
  let otlp: Awaited<ReturnType<typeof startOtlpReceiver>> | undefined;
  let metricsUrl = '';
  let scenario: ReturnType<typeof duplicateBooking>;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    otlp = await startOtlpReceiver();
    const [metricsPort, prometheusPort] = await freePorts(2);
    env = testEnv({
      VIGIL_PARTITIONS: '1',
      VIGIL_LOG_LEVEL: 'info',
      VIGIL_METRICS_PORT: String(metricsPort),
      VIGIL_LAG_INTERVAL_MS: '1000',
      VIGIL_BREAKER_METRICS_MAX_AGE_MS: '0',
      VIGIL_TRACING_ENABLED: 'true',
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: otlp.url,
      OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/json',
      OTEL_SERVICE_NAME: 'vigil-under-test',
    });
    await createTopics(loadConfig(env));
    [run, prom] = await Promise.all([
      Promise.resolve(runTs(MAIN, ['run'], env)),
      startPrometheus({ port: prometheusPort, target: `127.0.0.1:${metricsPort}`, ruleFiles: [`${REPO_ROOT}alerts/vigil.rules.yml`, `${REPO_ROOT}alerts/vigil.alerts.yml`] }),
    ]);
    metricsUrl = await waitFor(() => logLines(run!).find((l) => l.msg === 'metrics served')?.url as string | undefined, {
      timeoutMs: 90_000, description: 'the "metrics served" log line of vigil run',
    });
    // Prometheus must have seen the zero before the finding, so that the finding is an increase.
    await waitFor(async () => (await prom!.query('vigil_findings_total{kind="duplicate_action", severity="critical", shadow="false"} == 0')).length === 1, {
      timeoutMs: 60_000, description: 'Prometheus to scrape the zero findings series',
    });
    scenario = duplicateBooking(`u_${hex(4)}`, Date.now() - 60_000);
    await produceRaw(loadConfig(env), loadConfig(env).kafka.topics.actions, scenario.messages);
  }, 240_000);

  afterAll(async () => {
    run?.proc.kill('SIGTERM');
    if (run) await Promise.race([run.exited, new Promise((r) => setTimeout(r, 15_000))]);
    run?.proc.kill('SIGKILL');
    await prom?.stop();
    await otlp?.close();
  });

  it('Prometheus sees the KPI series and fires VigilCriticalFinding', async () => {
    const firing = await waitFor(async () => (await prom!.alerts()).find((a) => a.labels.alertname === 'VigilCriticalFinding' && a.state === 'firing'), {
      timeoutMs: 90_000, description: `VigilCriticalFinding to fire (vigil log: ${logLines(run!).slice(-3).map((l) => l.msg).join(' | ')})`,
    });
    expect(firing.labels).toMatchObject({ alertname: 'VigilCriticalFinding', severity: 'critical', kind: 'duplicate_action' });
    expect(firing.annotations.runbook_url).toBe('docs/runbooks/duplicate_action.md');

    // A value Prometheus reaches (the next scrapes after the batch), or the last one it had.
    const reaches = async (expr: string, ok: (v: number) => boolean): Promise<number> => {
      let last = NaN;
      try {
        return await waitFor(async () => {
          const r = await prom!.query(expr);
          last = r.length > 0 ? Number(r[0]!.value[1]) : NaN;
          return ok(last) ? { v: last } : undefined;
        }, { timeoutMs: 30_000 }).then((x) => x.v);
      } catch {
        return last;
      }
    };
    const is = (want: number) => (v: number) => v === want;
    const positive = (v: number) => v > 0;
    // 2 first-attempt actions (both high-risk, stepped up and confirmed); 1 duplicate_action finding.
    expect(await reaches('sum(vigil_actions_total)', is(2))).toBe(2);
    expect(await reaches('sum(vigil_transactions_total)', is(2))).toBe(2);
    expect(await reaches('sum(vigil_findings_total{kind="duplicate_action"})', is(1))).toBe(1);
    expect(await reaches('vigil:unintended_transactions_per_10k_actions:ratio_rate1h', positive)).toBeGreaterThan(0);
    expect(await reaches('vigil:findings_per_10k_actions:ratio_rate1h', positive)).toBeGreaterThan(0);
    expect(await reaches('vigil:step_up_coverage:ratio_rate1h', is(1))).toBe(1);
    expect(await reaches('vigil:audit_completeness:ratio_rate1h', is(1))).toBe(1);
    expect(await reaches('vigil:reversal_rate:ratio_rate1h', is(0))).toBe(0);
    expect(await reaches('up{job="vigil"}', is(1))).toBe(1);
    expect(await reaches('sum(vigil_events_by_type_total{type="action.succeeded"})', is(2))).toBe(2);
    expect(await reaches('sum(vigil_detection_latency_seconds_count{from="kafka_timestamp"})', is(1))).toBe(1);
    // the lag reader runs every second: the group committed everything
    expect(await reaches('vigil:consumer_lag_messages:sum', is(0))).toBe(0);
    expect(await reaches('sum(vigil_breakers{scope="user", state="open"})', is(1))).toBe(1);
  }, 180_000);

  it("promtool check metrics accepts vigil's exposition", async () => {
    const promtool = await ensureDebianBinary('prometheus', 'promtool');
    const text = await (await fetch(metricsUrl)).text();
    expect(text).toMatch(/^vigil_findings_total\{/m);
    const out = await new Promise<{ code: number | null; out: string }>((resolve) => {
      const p = execFile(promtool, ['check', 'metrics'], (err, stdout, stderr) => resolve({ code: err ? (err as { code?: number }).code ?? 1 : 0, out: stdout + stderr }));
      p.stdin!.end(text);
    });
    expect(out.out.trim(), out.out).toBe('');
    expect(out.code).toBe(0);
  });

  it("exports a span per batch (messaging conventions, linked to the agent's spans) and a span per finding in the agent's trace", async () => {
    const finding = await waitFor(() => otlp!.spans.find((s) => s.name === 'finding duplicate_action'), { timeoutMs: 60_000, description: 'the finding span' });
    const cfg = loadConfig(env);
    const batches = otlp!.spans.filter((s) => s.name === `process ${cfg.kafka.topics.actions}`);
    expect(batches.length).toBeGreaterThan(0);
    const batch = batches.find((b) => b.links.some((l) => l.traceId === scenario.traceId)) as OtlpSpan;
    expect(batch, 'a batch span linked to the agent trace').toBeDefined();
    expect(batch.kind).toBe(5); // SPAN_KIND_CONSUMER
    expect(batch.service).toBe('vigil-under-test');
    expect(batch.attributes).toMatchObject({
      'messaging.system': 'kafka',
      'messaging.operation.type': 'process',
      'messaging.destination.name': cfg.kafka.topics.actions,
      'messaging.destination.partition.id': '0',
      'messaging.consumer.group.name': cfg.kafka.groupId,
    });
    expect(batch.attributes['messaging.batch.message_count']).toBeGreaterThan(0);
    for (const l of batch.links.filter((x) => x.traceId === scenario.traceId)) expect([...scenario.spans.values()]).toContain(l.spanId);

    // The finding is in the agent's trace, under the span that wrote its triggering (newest) evidence event.
    expect(finding.traceId).toBe(scenario.traceId);
    expect([...scenario.spans.values()]).toContain(finding.parentSpanId);
    expect(finding.attributes).toMatchObject({ 'vigil.finding.kind': 'duplicate_action', 'vigil.finding.severity': 'critical', 'vigil.finding.scope.type': 'user' });
    const evidence = finding.attributes['vigil.finding.event_ids'] as string[];
    expect(evidence.map((id) => scenario.spans.get(id))).toContain(finding.parentSpanId);
    // ... and links back to vigil's batch span.
    const batchLink = finding.links.find((l) => l.attributes['vigil.link'] === 'batch');
    expect(batchLink).toBeDefined();
    expect(otlp!.spans.some((s) => s.spanId === batchLink!.spanId && s.name.startsWith('process '))).toBe(true);
  }, 90_000);
});
