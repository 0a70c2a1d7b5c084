import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readMailbox, type MailMessage } from '../../scripts/stack/mailbox.ts';
import { detectionHandlerFactory } from '../../src/app/detection-wiring.ts';
import { startMonitor, type Monitor } from '../../src/app/monitor.ts';
import { BreakerStore } from '../../src/breakers/breaker-store.ts';
import { incidentIdOf } from '../../src/notify/incident.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { duplicateBookings, produceAndSettle, readCommands } from '../fixtures/response-traffic.ts';
import { createTopics } from '../helpers/kafka-helpers.ts';
import { startOwnSmtpSink, type OwnSmtpSink } from '../helpers/smtp-sink.ts';
import { testConfig } from '../helpers/test-config.ts';
import { randomName, waitFor } from '../helpers/wait.ts';

const EVIL_USER = 'u_evil\r\nBcc: attacker@evil.example\r\nSubject: pwned';
const EVIL_AGENT = 'agent-x\r\nTo: victim@evil.example';
const EVIL_VENDOR = 'acme-air\nX-Injected: yes';

/**
 * Issue 10's e-mail end to end, through Kafka, the live monitor and a real SMTP sink (the stack's
 * smtp-sink.ts, run by the test on a port of its own): the
 * incident e-mail of a duplicate booking (content, PII masking, links), 50 findings of one incident
 * grouped into one e-mail, and event fields that try to inject headers or recipients.
 */
describe('incident e-mail (Kafka → monitor → outbox → SMTP sink)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-mail-e2e-'));
  const policy = join(dir, 'policy.yaml');
  writeFileSync(policy, 'notifications:\n  groupWaitMs: 1500\n  reminderMs: 3600000\n');
  const oncall = `${randomName('oncall')}@vigil.test`;
  let sink: OwnSmtpSink;
  let config: ReturnType<typeof testConfig>['config'];
  const configOf = (smtpUrl: string) => testConfig({
    VIGIL_POLICY: policy,
    SMTP_URL: smtpUrl,
    VIGIL_ONCALL_TO: oncall,
    VIGIL_MAIL_FROM: 'vigil@vigil.test',
    VIGIL_RUNBOOK_BASE_URL: 'https://runbooks.example/vigil/',
    VIGIL_DASHBOARD_URL: 'https://grafana.example/d/vigil-incidents',
    VIGIL_NOTIFY_POLL_MS: '200',
  }).config;
  let run: string;
  const logger = createLogger({ level: 'error' });
  let monitor: Monitor;
  const mails = async (): Promise<MailMessage[]> => (await readMailbox(sink.mailDir)).filter((m) => m.envelopeTo.includes(oncall) || m.to.includes(oncall));
  const mailOf = (kind: string, scopeType: string, scopeId: string) => async () => {
    const got = (await mails()).filter((m) => m.headers['x-vigil-incident'] === incidentIdOf(kind, { type: scopeType as 'user', id: scopeId }));
    return got.length > 0 ? got : undefined;
  };

  beforeAll(async () => {
    sink = await startOwnSmtpSink();
    config = configOf(sink.url);
    run = config.redis.keyPrefix;
    await createTopics(config);
    monitor = await startMonitor(config, { logger, serveMetrics: false, serveApi: false, handler: detectionHandlerFactory(config, logger) });
    await produceAndSettle(config, run, [
      ...duplicateBookings(run, 'jane.doe@example.com', 1, { tag: 'jane' }),
      ...duplicateBookings(run, 'u_bulk', 50),
      ...duplicateBookings(run, EVIL_USER, 1, { tag: 'evil', agentId: EVIL_AGENT, vendor: EVIL_VENDOR }),
    ], () => monitor.ingest.stats.consumed);
  }, 180_000);
  afterAll(async () => {
    await monitor?.stop();
    await sink?.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  it('tells what happened, the scope, the evidence, the breaker and the compensation, with links, PII masked', async () => {
    const [m] = await waitFor(mailOf('duplicate_action', 'user', 'jane.doe@example.com'), { timeoutMs: 60_000, description: 'the duplicate booking e-mail' });
    expect(m!.subject).toMatch(/^\[vigil\] CRITICAL duplicate_action on a user: incident [0-9a-f]{8} new$/);
    expect(m!.to).toEqual([oncall]);
    expect(m!.envelopeTo).toEqual([oncall]);
    expect(m!.from).toBe('vigil@vigil.test');
    expect(m!.messageId).toMatch(/^<vigil\.email\.[0-9a-f]{16}\.1\.opened@vigil\.test>$/);
    for (const body of [m!.text, m!.html!]) {
      expect(body).not.toContain('jane.doe@example.com');
      expect(body).toContain('j***@e***.com');
      expect(body).toContain(`${run}-jane-0-a`); // the evidence: both successes
      expect(body).toContain(`${run}-jane-0-b`);
      expect(body).toMatch(/[0-9a-f]{32}/); // their trace ids
      expect(body).toContain('https://runbooks.example/vigil/duplicate_action.md');
      expect(body).toContain('https://grafana.example/d/vigil-incidents?var-kind=duplicate_action');
    }
    const text = m!.text;
    expect(text.split('\n')[0]).toMatch(/^user j\*\*\*@e\*\*\*\.com: agent travel-assistant did flight\.book at acme-air twice/);
    expect(text).toMatch(/Scope:\s+user j\*\*\*@e\*\*\*\.com/);
    expect(text).toMatch(/Breakers:\s+user:j\*\*\*@e\*\*\*\.com open until \d{4}-\d\d-\d\dT/);
    expect(text).toMatch(new RegExp(`Compensation:\\s+cancel of event ${run}-jane-0-b \\(flight\\.book at acme-air\\): requested`));
    expect(m!.html).toContain('<a href="https://runbooks.example/vigil/duplicate_action.md">');

    // The operator closes the user's breaker: a "resolved" e-mail follows the first one, in its thread.
    await new BreakerStore({ redis: monitor.redis, keys: monitor.keys }).reset('user', 'jane.doe@example.com', 'test', 'undone by hand');
    const resolved = await waitFor(async () => (await mailOf('duplicate_action', 'user', 'jane.doe@example.com')())?.find((x) => x.subject.endsWith(' resolved')), { timeoutMs: 30_000, description: 'the resolved e-mail' });
    expect(resolved.headers['in-reply-to']).toBe(m!.messageId);
    expect(resolved.text).toMatch(/Status:\s+resolved at \S+ \(its breakers closed\)/);
    expect(resolved.text).not.toContain('jane.doe@example.com');
  });

  it('groups the 50 findings of one incident into one e-mail', async () => {
    const got = await waitFor(mailOf('duplicate_action', 'user', 'u_bulk'), { timeoutMs: 60_000, description: 'the e-mail of the 50 duplicates' });
    await new Promise((r) => setTimeout(r, 3000)); // anything else would have been sent by now
    expect(await mailOf('duplicate_action', 'user', 'u_bulk')()).toHaveLength(1);
    expect(got[0]!.text).toMatch(/Findings:\s+50 findings in this incident/);
    expect(got[0]!.text).toContain('Finding ids (first 20 of 50)');
    // … and each of the 50 asked for its own compensation, once
    const commands = await readCommands(config, 52);
    const bulk = commands.filter((c) => c.forEventId.startsWith(`${run}-u_bulk-`));
    expect(new Set(bulk.map((c) => c.forEventId)).size).toBe(50);
    expect(bulk).toHaveLength(50);
  });

  it('never lets event data reach a header or a recipient (CR/LF and addresses in event fields)', async () => {
    const [m] = await waitFor(mailOf('duplicate_action', 'user', EVIL_USER), { timeoutMs: 60_000, description: 'the e-mail about the evil user' });
    expect(m!.to).toEqual([oncall]);
    expect(m!.envelopeTo).toEqual([oncall]);
    expect(m!.subject).toMatch(/^\[vigil\] CRITICAL duplicate_action on a user: incident [0-9a-f]{8} new$/);
    expect(Object.keys(m!.headers).sort()).toEqual(
      ['content-type', 'date', 'from', 'message-id', 'mime-version', 'subject', 'to', 'x-envelope-from', 'x-envelope-to', 'x-vigil-incident', 'x-vigil-job', 'x-vigil-kind', 'x-vigil-severity'].sort(),
    );
    const raw = Object.entries(m!.headers).map(([k, v]) => `${k}: ${v}`).join('\n');
    // ('bcc' alone would match a hex id now and then: a header is a name and a colon)
    for (const bad of ['attacker', 'victim', 'evil.example', 'pwned', 'X-Injected', 'bcc:', 'cc:']) expect(raw.toLowerCase()).not.toContain(bad.toLowerCase());
    // In the body the values are one line each, their addresses masked.
    expect(m!.text).not.toContain('attacker@evil.example');
    expect(m!.text).toContain('u_evil Bcc: a***@e***.example Subject: pwned');
    // every e-mail of this run went to the configured address only
    for (const x of await mails()) expect(x.envelopeTo).toEqual([oncall]);
  });
});
