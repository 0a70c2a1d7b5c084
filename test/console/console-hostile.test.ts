import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Finding } from '../../processors/core/finding.ts';
import { BreakerStore } from '../../src/breakers/breaker-store.ts';
import type { Config } from '../../src/config/config.ts';
import { connectAdmin, createKafka } from '../../src/kafka/kafka-client.ts';
import { ensureTopics } from '../../src/kafka/topics.ts';
import { DEFAULT_NOTIFICATION_POLICY } from '../../src/notify/notification-policy.ts';
import { IncidentStore } from '../../src/notify/incident-store.ts';
import { silentLogger } from '../../src/observability/logger.ts';
import { connectRedis, redisConnectionOf, type RedisClient } from '../../src/redis/connection.ts';
import { KeyBuilder } from '../../src/redis/keys.ts';
import { startBreakerApi } from '../../src/http/start-breaker-api.ts';
import { launchChromium } from '../helpers/chromium.ts';
import { testConfig } from '../helpers/test-config.ts';

/**
 * The console with hostile event-derived strings (ids and summaries holding markup, quotes, CR/LF):
 * shown as text, never run; the page's CSP holds; the SSE stream keeps one event per state.
 */
const SCRIPT_ID = `<script>window.__pwned=1</script>"'&`;
const IMG = `<img src=x onerror="window.__pwned=2">`;
const SUMMARY = `summary ${IMG} "quoted" 'single'\r\nsecond line\r\n<b>bold?</b> ${SCRIPT_ID}`;
const SCOPE_ID = `u_${IMG}\r\nInjected-Header: 1`;

describe('operator console with hostile strings', () => {
  let config: Config;
  let redis: RedisClient;
  let api: Awaited<ReturnType<typeof startBreakerApi>>;
  let base = '';

  beforeAll(async () => {
    ({ config } = testConfig({ VIGIL_ADMIN_TOKEN: 'hostile-test-token-0123456789' }));
    redis = connectRedis(redisConnectionOf(config));
    const keys = new KeyBuilder(config.redis.keyPrefix);
    const kafka = createKafka(config, silentLogger);
    const admin = await connectAdmin(kafka, config);
    await ensureTopics(admin, config).finally(() => admin.disconnect());
    const finding: Finding = {
      findingId: `f_${'ab'.repeat(16)}`, kind: 'duplicate_action', severity: 'critical', scope: { type: 'user', id: SCOPE_ID },
      detectedAt: new Date().toISOString(), eventIds: [SCRIPT_ID, `e\r\n${IMG}`], ruleId: 'duplicate_action', policyVersion: 'p-test',
      shadow: false, summary: SUMMARY, traceIds: [IMG], target: { eventId: SCRIPT_ID, action: `${IMG}.book`, vendor: SCRIPT_ID },
    };
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic: config.kafka.topics.findings, messages: [{ key: 'k', value: JSON.stringify(finding) }, { key: 'k', value: JSON.stringify({ ...finding, findingId: `f_${'cd'.repeat(16)}`, kind: 'no_such_kind' }) }] });
    await producer.disconnect();
    const store = new BreakerStore({ redis, keys });
    await store.trip('user', SCRIPT_ID, {
      findingId: finding.findingId,
      reason: { ruleId: 'duplicate_action', kind: 'duplicate_action', policyVersion: 'p-test', observed: 2, threshold: 2, findingIds: [finding.findingId, IMG], traceIds: [SCRIPT_ID], summary: SUMMARY },
      settings: { baseMs: 600_000, capMs: 600_000, jitter: 0, trials: 1, trialTimeoutMs: 30_000 },
    });
    await new IncidentStore(redis, keys).note(finding, [`user:${SCRIPT_ID}`], SCRIPT_ID, DEFAULT_NOTIFICATION_POLICY, { email: true, alertmanager: false });
    api = await startBreakerApi(config, { redis });
    base = `http://127.0.0.1:${api.port}`;
  }, 120_000);

  afterAll(async () => {
    await api?.close();
    redis?.disconnect();
  });

  it('answers with a strict Content-Security-Policy, and an SSE stream of one-line JSON events', async () => {
    const page = await fetch(`${base}/console`);
    const csp = page.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain('unsafe-inline');
    expect(page.headers.get('x-content-type-options')).toBe('nosniff');
    expect(await page.text()).not.toMatch(/<script>[^<]/); // no inline script

    const ctl = new AbortController();
    const res = await fetch(`${base}/console/events`, { signal: ctl.signal });
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    const reader = res.body!.getReader();
    let text = '';
    while (!text.includes('\n\nevent: state\ndata: ') || !/event: state\ndata: .*\n\n/.test(text)) text += new TextDecoder().decode((await reader.read()).value);
    ctl.abort();
    const data = /event: state\ndata: (.*)\n\n/.exec(text)![1]!;
    const state = JSON.parse(data) as { breakers: { id: string; reason: { summary: string } }[] };
    expect(state.breakers.find((b) => b.id === SCRIPT_ID)?.reason.summary).toBe(SUMMARY);
  });

  it('shows every hostile string as text in a real browser, and runs none of it', async () => {
    const browser = await launchChromium();
    try {
      const tab = await browser.context.newPage();
      const dialogs: string[] = [];
      tab.on('dialog', (d) => void (dialogs.push(d.message()), d.dismiss()));
      await tab.goto(`${base}/console`);
      await tab.locator('#findings tbody tr').first().waitFor({ timeout: 60_000 });
      await tab.locator('#breakers tbody tr').first().waitFor({ timeout: 10_000 });
      expect(await tab.evaluate(() => (globalThis as unknown as { __pwned?: number }).__pwned)).toBeUndefined();
      expect(dialogs).toEqual([]);
      // the only script and no image: nothing event-derived became an element
      expect(await tab.locator('script').count()).toBe(1);
      expect(await tab.locator('img, b').count()).toBe(0);
      const cells = await tab.locator('td').evaluateAll((tds) => tds.map((td) => td.textContent ?? ''));
      expect(cells).toContain(SUMMARY);
      expect(cells).toContain(`user:${SCOPE_ID}`);
      expect(cells).toContain(`user:${SCRIPT_ID}`);
      expect(cells.some((c) => c.includes(`duplicate_action: ${SUMMARY}`))).toBe(true);
      // links only to runbooks of known kinds
      const hrefs = await tab.locator('a').evaluateAll((as) => as.map((a) => a.getAttribute('href')));
      expect(hrefs.length).toBeGreaterThan(0);
      for (const h of hrefs) expect(h).toBe('/console/runbooks/duplicate_action.md');
      expect(await tab.locator('#findings tbody tr', { hasText: 'no_such_kind' }).locator('a').count()).toBe(0);
    } finally {
      await browser.close();
    }
  }, 120_000);

  it('serves runbooks of known kinds only', async () => {
    expect((await fetch(`${base}/console/runbooks/retry_spike.md`)).status).toBe(200);
    expect((await fetch(`${base}/console/runbooks/no_such_kind.md`)).status).toBe(404);
    expect((await fetch(`${base}/console/runbooks/..%2F..%2FREADME.md`)).status).toBe(404);
    expect((await fetch(`${base}/console/state`, { method: 'POST' })).status).toBe(405);
  });
});
