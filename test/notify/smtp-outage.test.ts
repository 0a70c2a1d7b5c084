import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readMailbox } from '../../scripts/stack/mailbox.ts';
import { detectionHandlerFactory } from '../../src/app/detection-wiring.ts';
import { startMonitor, type Monitor } from '../../src/app/monitor.ts';
import type { Responder } from '../../src/app/response-wiring.ts';
import { incidentIdOf } from '../../src/notify/incident.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { advanceWatermark, duplicateBookings, T0 } from '../fixtures/response-traffic.ts';
import { createTopics, produceRaw } from '../helpers/kafka-helpers.ts';
import { startOwnSmtpSink, type OwnSmtpSink } from '../helpers/smtp-sink.ts';
import { testConfig } from '../helpers/test-config.ts';
import { waitFor } from '../helpers/wait.ts';

/**
 * SMTP down for 20 s: the incidents found meanwhile wait in the outbox (nothing lost), the consumer
 * keeps consuming and committing batches (the batch path never waits on SMTP), and every e-mail is
 * delivered, once, after the server is back.
 */
describe('SMTP outage (the test stops its own SMTP sink for 20 s)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-smtp-down-'));
  const policy = join(dir, 'policy.yaml');
  writeFileSync(policy, 'notifications:\n  groupWaitMs: 200\n');
  let sink: OwnSmtpSink;
  let monitor: Monitor;
  let responder: Responder;

  beforeAll(async () => {
    sink = await startOwnSmtpSink();
  });
  afterAll(async () => {
    await monitor?.stop();
    await sink?.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  it('queues the e-mails, keeps consuming, and delivers every one after SMTP returns', async () => {
    const { config } = testConfig({ VIGIL_POLICY: policy, SMTP_URL: sink.url, VIGIL_ONCALL_TO: 'oncall@vigil.test', VIGIL_SMTP_TIMEOUT_MS: '2000', VIGIL_NOTIFY_POLL_MS: '100' });
    const run = config.redis.keyPrefix;
    await createTopics(config);
    const logger = createLogger({ level: 'error' });
    monitor = await startMonitor(config, { logger, serveMetrics: false, serveApi: false, handler: detectionHandlerFactory(config, logger, { onResponder: (r) => (responder = r) }) });

    await sink.stop();
    const downAt = Date.now();
    const users = ['u_out_1', 'u_out_2', 'u_out_3', 'u_out_4', 'u_out_5'];
    const ids = users.map((u) => incidentIdOf('duplicate_action', { type: 'user', id: u }));
    await produceRaw(config, config.kafka.topics.actions, users.flatMap((u) => duplicateBookings(run, u, 1)).map((e) => ({ key: e.userId, value: Buffer.from(JSON.stringify(e)) })));
    await advanceWatermark(config, run, T0 + 30_000);
    await waitFor(async () => (await responder.notifier.incidents.open()).length >= users.length, { timeoutMs: 30_000, description: 'five incidents open' });
    await waitFor(() => responder.notifier.sender.stats.failures >= 1, { timeoutMs: 20_000, description: 'a failed SMTP attempt' });
    // While SMTP stays down, traffic keeps flowing: every few seconds new events, each consumed and committed at once.
    const lags: number[] = [];
    for (let i = 1; Date.now() - downAt < 17_000; i++) {
      const before = monitor.ingest.stats.consumed;
      const sent = Date.now();
      await advanceWatermark(config, run, T0 + 30_000 + i * 1000);
      await waitFor(() => monitor.ingest.stats.consumed >= before + config.kafka.partitions, { timeoutMs: 10_000, description: `traffic consumed while SMTP is down (round ${i})` });
      lags.push(Date.now() - sent);
      await new Promise((r) => setTimeout(r, 2000));
    }
    expect(await readMailbox(sink.mailDir)).toEqual([]);
    const depth = await monitor.redis.xlen(monitor.keys.notifyOutbox());
    expect(depth).toBeGreaterThanOrEqual(users.length); // nothing lost: every e-mail waits in the outbox
    const waited = Date.now() - downAt;
    if (waited < 20_000) await new Promise((r) => setTimeout(r, 20_000 - waited));

    const downFor = Date.now() - downAt;
    await sink.start();
    const back = Date.now();
    const mails = await waitFor(async () => {
      const got = (await readMailbox(sink.mailDir)).filter((m) => ids.includes(m.headers['x-vigil-incident'] ?? ''));
      return got.length >= users.length ? got : undefined;
    }, { timeoutMs: 30_000, description: 'all five e-mails after SMTP returned' });
    const deliveredIn = Date.now() - back;
    await new Promise((r) => setTimeout(r, 2000));
    const all = (await readMailbox(sink.mailDir)).filter((m) => ids.includes(m.headers['x-vigil-incident'] ?? ''));
    expect(all.map((m) => m.headers['x-vigil-incident']).sort()).toEqual([...ids].sort()); // each once
    expect(mails.every((m) => m.subject.includes('duplicate_action'))).toBe(true);
    expect(await monitor.redis.xlen(monitor.keys.notifyOutbox())).toBe(0);
    // eslint-disable-next-line no-console
    console.log(`smtp outage: down ${downFor} ms, ${responder.notifier.sender.stats.failures} failed SMTP attempts (probes), outbox depth ${depth}; ` +
      `all ${users.length} e-mails delivered ${deliveredIn} ms after it returned; traffic consumed while down in ${lags.join(', ')} ms`);
  }, 180_000);
});
