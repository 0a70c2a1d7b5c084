import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readMailbox } from '../../scripts/stack/mailbox.ts';
import { detectionHandlerFactory } from '../../src/app/detection-wiring.ts';
import { startMonitor, type Monitor } from '../../src/app/monitor.ts';
import type { Responder } from '../../src/app/response-wiring.ts';
import { BreakerStore } from '../../src/breakers/breaker-store.ts';
import { webhookBreakerId } from '../../src/compensation/webhook-executor.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { compensationEvent, duplicateBookings, produceAndSettle, readCommands, T0 } from '../fixtures/response-traffic.ts';
import { createTopics, produceRaw } from '../helpers/kafka-helpers.ts';
import { freePort } from '../helpers/redis-server.ts';
import { startOwnSmtpSink, type OwnSmtpSink } from '../helpers/smtp-sink.ts';
import { testConfig } from '../helpers/test-config.ts';
import { randomName, waitFor } from '../helpers/wait.ts';

/**
 * Sagas end to end on real Kafka: a command per duplicate, outcomes paired from compensation.* events
 * on agent.actions (MTTC measured), time-outs re-sent with backoff and then escalated (a critical
 * e-mail and the vendor's breaker), and the built-in webhook executor (Idempotency-Key, retries, a
 * breaker of its own).
 */
describe('sagas (commands, outcomes, time-outs, escalation, webhooks)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-sagas-'));
  const policy = join(dir, 'policy.yaml');
  writeFileSync(policy, [
    'compensations:',
    '  timeoutMs: 1500',
    '  resend: { baseMs: 300, capMs: 300, maxAttempts: 2 }',
    'notifications:',
    '  groupWaitMs: 300',
    '  minSeverity: critical',
    '',
  ].join('\n'));
  const oncall = `${randomName('oncall')}@vigil.test`;
  const calls: { vendor: string; headers: IncomingHttpHeaders; body: Record<string, unknown> }[] = [];
  let server: Server;
  let sink: OwnSmtpSink;
  let monitor: Monitor;
  let responder: Responder;
  afterAll(async () => {
    await monitor?.stop();
    server?.close();
    await sink?.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  it('asks once, pairs the outcome, re-sends and escalates an unanswered one, and executes webhooks', async () => {
    // The vendors' webhook endpoints: hooked-air fails once then succeeds, down-air always fails.
    let hooked = 0;
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (d) => (body += d));
      req.on('end', () => {
        const vendor = req.url!.slice(1);
        calls.push({ vendor, headers: req.headers, body: JSON.parse(body) as Record<string, unknown> });
        res.statusCode = vendor === 'hooked-air' ? (++hooked === 1 ? 503 : 200) : 500;
        res.end('{}');
      });
    });
    sink = await startOwnSmtpSink();
    const port = await freePort();
    await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
    const { config } = testConfig({
      VIGIL_POLICY: policy, SMTP_URL: sink.url, VIGIL_ONCALL_TO: oncall, VIGIL_NOTIFY_POLL_MS: '100',
      VIGIL_COMPENSATION_WEBHOOKS: `hooked-air=http://127.0.0.1:${port}/hooked-air,down-air=http://127.0.0.1:${port}/down-air`,
      VIGIL_COMPENSATION_WEBHOOK_TIMEOUT_MS: '2000',
    });
    const run = config.redis.keyPrefix;
    await createTopics(config);
    const logger = createLogger({ level: 'error' });
    monitor = await startMonitor(config, { logger, serveMetrics: false, serveApi: false, handler: detectionHandlerFactory(config, logger, { onResponder: (r) => (responder = r) }) });

    await produceAndSettle(config, run, [
      ...duplicateBookings(run, 'u_answered', 1, { vendor: 'acme-air' }),
      ...duplicateBookings(run, 'u_silent', 1, { vendor: 'silent-air' }),
      ...duplicateBookings(run, 'u_hooked', 1, { vendor: 'hooked-air' }),
      ...duplicateBookings(run, 'u_down', 1, { vendor: 'down-air' }),
    ], () => monitor.ingest.stats.consumed);
    const answered = `${run}-u_answered-0-b`;
    const silent = `${run}-u_silent-0-b`;
    const hookedFe = `${run}-u_hooked-0-b`;

    // The adapter of acme-air answers on agent.actions: requested, then succeeded 42 s (event time) after the finding.
    const first = await readCommands(config, 4, { quietMs: 500 });
    expect(first.filter((c) => c.forEventId === answered)).toMatchObject([{ attempt: 1, kind: 'cancel', vendor: 'acme-air' }]);
    const detectedAt = T0 + 900;
    await produceRaw(config, config.kafka.topics.actions, [
      compensationEvent(run, 'compensation.requested', answered, detectedAt + 2000),
      compensationEvent(run, 'compensation.succeeded', answered, detectedAt + 42_000),
    ].map((e) => ({ key: e.userId, value: Buffer.from(JSON.stringify(e)) })));
    await waitFor(async () => (await responder.sagas.get(answered))?.state === 'succeeded', { timeoutMs: 30_000, description: 'the answered saga to succeed' });
    const metrics = await monitor.metrics.registry.metrics();
    expect(metrics).toMatch(/vigil_time_to_compensate_seconds_bucket\{le="60",kind="cancel"\} 1/);
    expect(metrics).toMatch(/vigil_time_to_compensate_seconds_bucket\{le="30",kind="cancel"\} 0/);
    expect(metrics).toMatch(/vigil_compensations_total\{kind="cancel",outcome="succeeded"\} [1-9]/);

    // The webhook of hooked-air: a 503, then a 200 on the retry; the saga succeeds without any event.
    await waitFor(async () => (await responder.sagas.get(hookedFe))?.state === 'succeeded', { timeoutMs: 30_000, description: 'the webhook saga to succeed' });
    const hookedCalls = calls.filter((c) => c.vendor === 'hooked-air');
    expect(hookedCalls).toHaveLength(2);
    expect(hookedCalls.every((c) => c.headers['idempotency-key'] === hookedCalls[0]!.body.idempotencyKey && /^cmp_[0-9a-f]{32}$/.test(String(c.headers['idempotency-key'])))).toBe(true);
    expect(hookedCalls[0]!.body).toMatchObject({ forEventId: hookedFe, kind: 'cancel', vendor: 'hooked-air', attempt: 1 });
    // down-air's webhook keeps failing: its own breaker opens.
    const breakers = new BreakerStore({ redis: monitor.redis, keys: monitor.keys });
    await waitFor(async () => (await breakers.get('action', webhookBreakerId('down-air')))?.status.kind === 'open', { timeoutMs: 30_000, description: "down-air's webhook breaker to open" });

    // silent-air never answers: attempt 1 times out, attempt 2 is sent, times out, and the saga is escalated.
    await waitFor(async () => (await responder.sagas.get(silent))?.state === 'timed_out', { timeoutMs: 30_000, description: 'the silent saga to time out' });
    const all = await readCommands(config, 6, { quietMs: 1000 });
    expect(all.filter((c) => c.forEventId === silent).map((c) => c.attempt).sort()).toEqual([1, 2]);
    expect(new Set(all.filter((c) => c.forEventId === silent).map((c) => c.idempotencyKey)).size).toBe(1);
    const vendor = await waitFor(async () => {
      const b = await breakers.get('vendor', 'silent-air');
      return b?.status.kind === 'open' ? b : undefined;
    }, { timeoutMs: 30_000, description: "silent-air's breaker opened by the escalation" });
    if (vendor.status.kind !== 'open') throw new Error('unreachable');
    expect(vendor.status.reason).toMatchObject({ ruleId: 'compensation_escalation', kind: 'compensation_failed' });
    const mail = await waitFor(async () => (await readMailbox(sink.mailDir)).find((m) => m.envelopeTo.includes(oncall) && m.subject.includes('compensation_failed on a vendor') && m.text.includes(silent)), { timeoutMs: 30_000, description: 'the escalation e-mail' });
    expect(mail.subject).toMatch(/^\[vigil\] CRITICAL compensation_failed on a vendor/);
    expect(mail.text.split('\n')[0]).toContain(`vendor silent-air: the cancel compensation of event ${silent}`);
    expect(mail.text).toMatch(/timed out after 2 attempts: handle it by hand/);
    // only critical incidents notify here: the duplicates (critical) and the escalation
    expect(metrics).toMatch(/vigil_compensations_total\{kind="cancel",outcome="requested"\} 4/);
  }, 180_000);
});
