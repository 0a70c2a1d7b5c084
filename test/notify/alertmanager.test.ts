import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readMailbox } from '../../scripts/stack/mailbox.ts';
import { detectionHandlerFactory } from '../../src/app/detection-wiring.ts';
import { startMonitor, type Monitor } from '../../src/app/monitor.ts';
import { BreakerStore } from '../../src/breakers/breaker-store.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { duplicateBookings, produceAndSettle } from '../fixtures/response-traffic.ts';
import { startAlertmanager, type AlertmanagerHandle, type GettableAlert } from '../helpers/alertmanager.ts';
import { createTopics } from '../helpers/kafka-helpers.ts';
import { startOwnSmtpSink, type OwnSmtpSink } from '../helpers/smtp-sink.ts';
import { testConfig } from '../helpers/test-config.ts';
import { randomName, waitFor } from '../helpers/wait.ts';

/**
 * Alertmanager as a channel, against the real binary (Debian's prometheus-alertmanager) routing to an
 * SMTP sink of the test's own: an incident is pushed the moment it is found, visible in the v2 API with its
 * labels and annotations, re-pushed while open, and resolved when its breaker closes.
 */
describe('Alertmanager push (monitor → POST /api/v2/alerts → Alertmanager → SMTP sink)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-am-e2e-'));
  const policy = join(dir, 'policy.yaml');
  writeFileSync(policy, 'notifications:\n  alertRepushMs: 2000\n');
  const amTo = `${randomName('am')}@vigil.test`;
  let am: AlertmanagerHandle;
  let sink: OwnSmtpSink;
  let monitor: Monitor;

  beforeAll(async () => {
    sink = await startOwnSmtpSink();
    am = await startAlertmanager({ host: '127.0.0.1', port: sink.port, to: amTo });
  }, 180_000);
  afterAll(async () => {
    await monitor?.stop();
    await am?.stop();
    await sink?.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  it('pushes the incident at once, keeps it active while the breaker is open, and resolves it when the breaker closes', async () => {
    // vigil's own e-mail is off here (no SMTP_URL): Alertmanager is the only channel.
    const { config } = testConfig({ VIGIL_POLICY: policy, SMTP_URL: '', VIGIL_ALERTMANAGER_URLS: am.url, VIGIL_NOTIFY_POLL_MS: '200', VIGIL_RUNBOOK_BASE_URL: 'https://runbooks.example/vigil' });
    const run = config.redis.keyPrefix;
    await createTopics(config);
    const logger = createLogger({ level: 'error' });
    monitor = await startMonitor(config, { logger, serveMetrics: false, serveApi: false, handler: detectionHandlerFactory(config, logger) });
    const user = `u_am_${run.slice(-6)}`;
    await produceAndSettle(config, run, duplicateBookings(run, user, 1), () => monitor.ingest.stats.consumed);

    const mine = async (): Promise<GettableAlert | undefined> => (await am.alerts()).find((a) => a.labels.scope_id === user);
    const alert = await waitFor(mine, { timeoutMs: 30_000, description: 'the alert in Alertmanager' });
    expect(alert.labels).toEqual({ alertname: 'VigilIncident', kind: 'duplicate_action', severity: 'critical', scope_type: 'user', scope_id: user, source: 'vigil' });
    expect(alert.annotations.runbook_url).toBe('https://runbooks.example/vigil/duplicate_action.md');
    expect(alert.annotations.finding_ids).toMatch(/^f_[0-9a-f]{32}$/);
    expect(alert.annotations.summary).toContain(`user ${user}: agent travel-assistant did flight.book at acme-air twice`);
    expect(alert.annotations.breakers).toBe(`user:${user} open`);
    expect(alert.status.state).toBe('active');
    // Alertmanager routes it to the SMTP sink.
    await waitFor(async () => (await readMailbox(sink.mailDir)).find((m) => m.envelopeTo.includes(amTo) && /FIRING/.test(m.subject)), { timeoutMs: 30_000, description: "Alertmanager's e-mail" });

    // Re-pushed while open: endsAt keeps moving on.
    const firstEnd = Date.parse(alert.endsAt);
    await waitFor(async () => Date.parse((await mine())?.endsAt ?? '0') > firstEnd, { timeoutMs: 15_000, description: 'a re-push moving endsAt on' });

    // The operator closes the breaker: the incident resolves, its alert ends.
    const breakers = new BreakerStore({ redis: monitor.redis, keys: monitor.keys });
    await breakers.reset('user', user, 'test', 'fixed by hand');
    await waitFor(async () => (await mine()) === undefined, { timeoutMs: 30_000, description: 'the alert resolved in Alertmanager' });
    await waitFor(async () => (await readMailbox(sink.mailDir)).find((m) => m.envelopeTo.includes(amTo) && /RESOLVED/.test(m.subject)), { timeoutMs: 30_000, description: "Alertmanager's resolved e-mail" });
  }, 180_000);
});
