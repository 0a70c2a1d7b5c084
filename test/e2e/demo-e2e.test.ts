import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureAptInstalled } from '../../scripts/tools/debian-tools.ts';
import { launchChromium } from '../helpers/chromium.ts';
import { runTs, type Child } from '../helpers/child-process.ts';
import { stackEndpoints } from '../helpers/stack-env.ts';
import { waitFor } from '../helpers/wait.ts';

/**
 * `vigil demo` end to end, headless, as a newcomer runs it (a child process, 60 s of traffic with
 * every scenario), and its operator console in a real browser (Debian's Chromium) while it runs:
 * what the console shows, a force-open through its form, a screenshot. Then the demo's report:
 * every scenario found with its kind and scope, the breakers it should open, compensations and
 * e-mails, and no finding from the normal traffic.
 */

/** The breakers the bundled policy trips for the scenarios (kind → scope type of the breaker). */
const BREAKER_KINDS: Record<string, string> = {
  vendor_failure_rate: 'vendor', retry_spike: 'agent', confirmation_failure_spike: 'agent',
  duplicate_action: 'user', runaway_agent: 'user', action_after_consent_revoked: 'user',
};
/** The kinds the bundled policy compensates. */
const COMPENSATED = ['duplicate_action', 'confirmation_mismatch', 'unconfirmed_action', 'action_after_consent_revoked'];

interface Report {
  scenarios: { scenario: string; kind: string; scope: { type: string; id: string }; foundAfterMs?: number; findingIds: string[] }[];
  unexpected: unknown[];
  findings: { kind: string; scope: { type: string; id: string } }[];
  breakersOpened: { scope: string; id: string; kind: string }[];
  breakersOpenAtEnd: { scope: string; id: string; state: string; actor: string | null }[];
  compensations: { requested: number; succeeded: number; failed: number; answered: number };
  emails: { sent: number; files: string[]; mailDir: string };
  firstFindingAfterMs: number;
  published: number;
  consumed: number;
}

describe('npm run demo, and its console in a browser', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-demo-e2e-'));
  const reportFile = join(dir, 'report.json');
  let demo: Child;
  let out = '';
  let consoleUrl = '';
  let token = '';

  beforeAll(async () => {
    // first, so a fresh machine's Chromium install (apt, a minute or two) does not eat into the demo
    await ensureAptInstalled('chromium');
    const s = stackEndpoints();
    demo = runTs('src/cli/main.ts', ['demo', '--duration', '60', '--rate', '40', '--seed', '14', '--report-json', reportFile], {
      KAFKA_BROKERS: s.kafkaBrokers, SCHEMA_REGISTRY_URL: s.schemaRegistryUrl, REDIS_URL: s.redisUrl, SMTP_URL: s.smtpUrl,
      ...(s.mailDir ? { VIGIL_MAIL_DIR: s.mailDir } : {}),
    });
    demo.proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    const m = await waitFor(() => /operator console (http:\/\/\S+\/console) +\(admin token for its overrides: ([0-9a-f]+)\)/.exec(out), { timeoutMs: 120_000, description: 'the demo to print its console URL' });
    consoleUrl = m[1]!;
    token = m[2]!;
  }, 600_000);

  afterAll(async () => {
    if (demo && demo.proc.exitCode === null) {
      demo.proc.kill('SIGINT');
      await Promise.race([demo.exited, new Promise((r) => setTimeout(r, 20_000))]);
      if (demo.proc.exitCode === null) demo.proc.kill('SIGKILL');
    }
  });

  it('shows breakers, incidents and findings live, and force-opens a breaker with a reason and an expiry', async () => {
    const page = await launchChromium();
    try {
      const tab = await page.context.newPage();
      const blocked: string[] = [];
      tab.on('console', (msg) => void (/Content Security Policy/.test(msg.text()) && blocked.push(msg.text())));
      const res = await tab.goto(consoleUrl);
      expect(res!.headers()['content-security-policy']).toContain("script-src 'self'");
      // the scenarios run: breakers open, incidents and findings arrive over server-sent events
      await tab.locator('#status.on').waitFor({ timeout: 30_000 });
      await tab.locator('#breakers tbody tr').first().waitFor({ timeout: 90_000 });
      await tab.locator('#incidents tbody tr').first().waitFor({ timeout: 30_000 });
      await tab.locator('#findings tbody tr').first().waitFor({ timeout: 30_000 });
      const breaker = await tab.locator('#breakers tbody tr').first().innerText();
      expect(breaker).toMatch(/(vendor|agent|user):\S+\s+open\s+\d+ (min|s)/);
      // runbook links lead to the runbook
      const runbook = await tab.locator('#incidents tbody tr a').first().getAttribute('href');
      expect(runbook).toMatch(/^\/console\/runbooks\/[a-z_]+\.md$/);
      const text = await (await fetch(new URL(runbook!, consoleUrl))).text();
      expect(text).toMatch(/^# /);

      // a wrong token is refused; the right one force-opens, with the reason and the expiry asked for
      const form = tab.locator('#override');
      await form.locator('select[name=action]').selectOption('force-open');
      await form.locator('select[name=scope]').selectOption('vendor');
      await form.locator('input[name=id]').fill('sky-jet');
      await form.locator('input[name=reason]').fill('e2e: sky-jet maintenance window');
      await form.locator('input[name=minutes]').fill('10');
      await form.locator('input[name=actor]').fill('e2e-operator');
      await form.locator('input[name=token]').fill('not-the-token');
      await form.locator('button[type=submit]').click();
      await waitFor(async () => /refused \(40[13]\)/.test((await tab.locator('#override-result').textContent()) ?? ''), { timeoutMs: 10_000, description: 'the wrong token to be refused' });
      await form.locator('input[name=token]').fill(token);
      await form.locator('button[type=submit]').click();
      await waitFor(async () => /vendor:sky-jet is now forced_open/.test((await tab.locator('#override-result').textContent()) ?? ''), { timeoutMs: 10_000, description: 'the force-open to be applied' });
      const row = tab.locator('#breakers tbody tr', { hasText: 'vendor:sky-jet' });
      await row.waitFor({ timeout: 10_000 });
      expect(await row.innerText()).toMatch(/forced_open\s+(9|10) min/);
      expect(await row.innerText()).toContain('e2e-operator: e2e: sky-jet maintenance window');

      const shot = join(dir, 'console.png');
      await tab.screenshot({ path: shot, fullPage: false });
      expect(statSync(shot).size).toBeGreaterThan(10_000);
      expect(blocked).toEqual([]);
      process.stdout.write(`console screenshot: ${shot}\n`);
    } finally {
      await page.close();
    }
  }, 180_000);

  it('finds every scenario with its kind and scope, opens the breakers, compensates, e-mails, and nothing from normal traffic', async () => {
    const code = await demo.exited;
    expect(code, out.slice(-3000)).toBe(0);
    const r = JSON.parse(readFileSync(reportFile, 'utf8')) as Report;
    expect(r.scenarios).toHaveLength(15);
    // the demo waits for the monitor to consume what it published: a report of "5034 published, 5033
    // consumed" reads as a lost event
    expect(r.published).toBeGreaterThan(0);
    expect(r.consumed).toBeGreaterThanOrEqual(r.published);
    expect(out).toContain(`${r.published} events published, all consumed`);
    for (const s of r.scenarios) {
      expect(s.foundAfterMs, `${s.scenario}: ${s.kind} on ${s.scope.type}:${s.scope.id} not found`).toBeTypeOf('number');
      expect(r.findings.filter((f) => f.kind === s.kind && f.scope.type === s.scope.type && f.scope.id === s.scope.id).length).toBe(s.findingIds.length);
    }
    expect(new Set(r.scenarios.map((s) => s.kind)).size).toBe(15);
    expect(r.unexpected).toEqual([]);
    expect(r.findings.length).toBe(r.scenarios.reduce((n, s) => n + s.findingIds.length, 0));
    // breakers: one per scenario whose kind the policy trips, on the scenario's scope
    for (const s of r.scenarios.filter((x) => BREAKER_KINDS[x.kind])) {
      expect(r.breakersOpened, `${s.kind} breaker`).toContainEqual(expect.objectContaining({ scope: s.scope.type, id: s.scope.id, kind: s.kind }));
    }
    expect(r.breakersOpenAtEnd).toContainEqual(expect.objectContaining({ scope: 'vendor', id: 'sky-jet', state: 'forced_open', actor: 'e2e-operator' }));
    const compensated = r.scenarios.filter((s) => COMPENSATED.includes(s.kind)).length;
    expect(r.compensations.requested).toBe(compensated);
    expect(r.compensations.answered).toBe(compensated);
    expect(r.compensations.succeeded).toBe(compensated);
    // one e-mail per incident (an incident is a kind on a scope)
    expect(r.emails.sent).toBe(15);
    if (r.emails.mailDir) expect(r.emails.files.length).toBe(15);
    expect(out).toContain('What vigil caught: 15 of 15 injected scenarios; normal traffic raised 0 findings');
    expect(out).toContain('Monitor stopped cleanly');
    process.stdout.write(`first finding ${r.firstFindingAfterMs} ms after the command\n`);
  }, 240_000);
});
