import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Finding } from '../../processors/core/finding.ts';
import { readMailbox } from '../../scripts/stack/mailbox.ts';
import { detectionHandlerFactory } from '../../src/app/detection-wiring.ts';
import { startMonitor, type Monitor } from '../../src/app/monitor.ts';
import type { Responder } from '../../src/app/response-wiring.ts';
import { incidentIdOf } from '../../src/notify/incident.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { duplicateBookings, produceAndSettle, readCommands } from '../fixtures/response-traffic.ts';
import { startAlertmanager, type AlertmanagerHandle } from '../helpers/alertmanager.ts';
import { createTopics } from '../helpers/kafka-helpers.ts';
import { startOwnSmtpSink, type OwnSmtpSink } from '../helpers/smtp-sink.ts';
import { testConfig } from '../helpers/test-config.ts';
import { randomName, waitFor } from '../helpers/wait.ts';

/**
 * Two monitor instances in one consumer group, sharing Redis: each incident makes one e-mail, one
 * Alertmanager alert and one compensation command, even when both instances are handed every finding
 * again at the same moment (as after a rebalance that redelivers batches to both).
 */
describe('two monitor instances', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-two-'));
  const policy = join(dir, 'policy.yaml');
  writeFileSync(policy, 'notifications:\n  groupWaitMs: 1000\n  alertRepushMs: 2000\n');
  const oncall = `${randomName('oncall')}@vigil.test`;
  let am: AlertmanagerHandle;
  let sink: OwnSmtpSink;
  const monitors: Monitor[] = [];
  const responders: Responder[] = [];
  const findings = new Map<string, Finding>();

  beforeAll(async () => {
    sink = await startOwnSmtpSink();
    am = await startAlertmanager({ host: '127.0.0.1', port: sink.port, to: `${randomName('am')}@vigil.test` });
  }, 180_000);
  afterAll(async () => {
    await Promise.all(monitors.map((m) => m.stop()));
    await am?.stop();
    await sink?.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  it('produce one e-mail, one alert and one command per incident', async () => {
    const { config } = testConfig({
      VIGIL_POLICY: policy, SMTP_URL: sink.url, VIGIL_ONCALL_TO: oncall, VIGIL_ALERTMANAGER_URLS: am.url,
      VIGIL_NOTIFY_POLL_MS: '100', VIGIL_COMPENSATION_LEASE_MS: '3000', KAFKA_SESSION_TIMEOUT_MS: '8000',
    });
    const run = config.redis.keyPrefix;
    await createTopics(config);
    const logger = createLogger({ level: 'error' });
    for (let i = 0; i < 2; i++) {
      monitors.push(await startMonitor(config, {
        logger, serveMetrics: false, serveApi: false,
        handler: detectionHandlerFactory(config, logger, { onFinding: (f) => findings.set(f.findingId, f), onResponder: (r) => responders.push(r) }),
      }));
    }
    const users = ['u_two_a', 'u_two_b', 'u_two_c'].map((u) => `${u}_${run.slice(-4)}`);
    await produceAndSettle(config, run, users.flatMap((u) => duplicateBookings(run, u, 1)), () => monitors[0]!.ingest.stats.consumed + monitors[1]!.ingest.stats.consumed);
    await waitFor(() => findings.size >= 3, { timeoutMs: 60_000, description: 'three findings' });

    // Both instances get every finding again, at once.
    await Promise.all(responders.flatMap((r) => [...findings.values()].map((f) => r.handleFinding(f))));

    const ids = users.map((u) => incidentIdOf('duplicate_action', { type: 'user', id: u }));
    const mails = async () => (await readMailbox(sink.mailDir)).filter((m) => m.envelopeTo.includes(oncall));
    await waitFor(async () => (await mails()).length >= 3, { timeoutMs: 60_000, description: 'three e-mails' });
    const alerts = await waitFor(async () => {
      const got = (await am.alerts()).filter((a) => users.includes(a.labels.scope_id ?? ''));
      return got.length >= 3 ? got : undefined;
    }, { timeoutMs: 30_000, description: 'three alerts' });
    const commands = await readCommands(config, 3, { quietMs: 4000 });
    await new Promise((r) => setTimeout(r, 3000)); // time for any second e-mail or alert to show

    expect((await mails()).map((m) => m.headers['x-vigil-incident']).sort()).toEqual([...ids].sort());
    expect(alerts.map((a) => a.labels.scope_id).sort()).toEqual([...users].sort());
    expect((await am.alerts()).filter((a) => users.includes(a.labels.scope_id ?? ''))).toHaveLength(3);
    expect(commands.map((c) => c.forEventId).sort()).toEqual(users.map((u) => `${run}-${u.replace(/[^A-Za-z0-9_]/g, '').slice(0, 12)}-0-b`).sort());
    expect(commands.every((c) => c.attempt === 1)).toBe(true);
    // both instances did part of the work
    expect(monitors.every((m) => m.ingest.stats.consumed > 0)).toBe(true);
  }, 180_000);
});
