import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { parse as parseYaml } from 'yaml';
import { beforeAll, describe, expect, it } from 'vitest';
import { ensureDebianBinary } from '../../scripts/tools/debian-tools.ts';
import { REPO_ROOT } from '../helpers/child-process.ts';

const run = promisify(execFile);
const ALERTS = `${REPO_ROOT}alerts/`;

type Rule = { alert?: string; record?: string; expr: string; labels?: Record<string, string>; annotations?: Record<string, string> };
type TestFile = { tests: { alert_rule_test?: { alertname: string; exp_alerts: unknown[] }[] }[] };

function rules(file: string): Rule[] {
  const doc = parseYaml(readFileSync(ALERTS + file, 'utf8')) as { groups: { rules: Rule[] }[] };
  return doc.groups.flatMap((g) => g.rules);
}

/** Runs a tool, resolving with its output whatever the exit code (the test reads both). */
async function tool(bin: string, args: string[]): Promise<{ code: number; out: string }> {
  try {
    const { stdout, stderr } = await run(bin, args, { cwd: ALERTS });
    return { code: 0, out: stdout + stderr };
  } catch (e) {
    const err = e as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof err.code === 'number' ? err.code : 1, out: `${err.stdout ?? ''}${err.stderr ?? ''}` };
  }
}

/**
 * The alert rules, recording rules and Alertmanager config, checked by the real tools from Debian's
 * prometheus and prometheus-alertmanager packages (fetched into the cache on first use).
 */
describe('alerts/ with promtool and amtool', () => {
  let promtool: string;
  let amtool: string;
  beforeAll(async () => {
    promtool = await ensureDebianBinary('prometheus', 'promtool');
    amtool = await ensureDebianBinary('prometheus-alertmanager', 'amtool');
  }, 300_000);

  it('promtool check rules accepts the recording and alerting rules', async () => {
    const r = await tool(promtool, ['check', 'rules', 'vigil.rules.yml', 'vigil.alerts.yml']);
    expect(r.out).toMatch(/vigil\.rules\.yml\s+SUCCESS: \d+ rules found/);
    expect(r.code, r.out).toBe(0);
  });

  it('promtool test rules passes: every alert firing and not firing, the KPI ratios on known counts', async () => {
    const r = await tool(promtool, ['test', 'rules', 'tests/vigil.alerts.test.yml']);
    expect(r.code, r.out).toBe(0);
    expect(r.out).toMatch(/SUCCESS/);
  });

  it('the rule tests cover each alert both firing and not firing', () => {
    const names = new Set(rules('vigil.alerts.yml').map((r) => r.alert!));
    const doc = parseYaml(readFileSync(`${ALERTS}tests/vigil.alerts.test.yml`, 'utf8')) as TestFile;
    const cases = doc.tests.flatMap((t) => t.alert_rule_test ?? []);
    for (const name of names) {
      expect(cases.some((c) => c.alertname === name && c.exp_alerts.length > 0), `${name} firing`).toBe(true);
      expect(cases.some((c) => c.alertname === name && c.exp_alerts.length === 0), `${name} not firing`).toBe(true);
    }
    expect(names).toEqual(new Set(['VigilCriticalFinding', 'VigilBreakerOpenTooLong', 'VigilBreakerHeldOpen', 'VigilCompensationsFailing', 'VigilMttcOverTarget', 'VigilDeadLetterGrowth', 'VigilConsumerLagHigh', 'VigilMonitorDown', 'VigilMonitorAbsent', 'VigilDependencyDown', 'VigilMonitorStalled', 'VigilHeapNearLimit']));
  });

  it('a broken rule is refused (the check is real)', async () => {
    const { mkdtempSync, writeFileSync, rmSync } = await import('node:fs');
    const dir = mkdtempSync('/tmp/vigil-rules-');
    try {
      writeFileSync(`${dir}/bad.yml`, 'groups:\n  - name: x\n    rules:\n      - alert: X\n        expr: sum(rate(vigil_actions_total[5m])\n');
      const r = await tool(promtool, ['check', 'rules', `${dir}/bad.yml`]);
      expect(r.code).not.toBe(0);
      expect(r.out).toMatch(/FAILED|parse error|unclosed/i);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('every alert has a severity Alertmanager routes and a runbook in docs/runbooks/', () => {
    for (const r of rules('vigil.alerts.yml')) {
      expect(['critical', 'warning'], r.alert).toContain(r.labels?.severity);
      const runbook = r.annotations?.runbook_url ?? '';
      expect(r.annotations?.summary, r.alert).toBeTruthy();
      if (runbook.includes('{{')) {
        // per anomaly kind: docs/runbooks/<kind>.md (one per kind)
        expect(runbook, r.alert).toBe('docs/runbooks/{{ $labels.kind }}.md');
      } else {
        expect(existsSync(REPO_ROOT + runbook), `${r.alert}: ${runbook}`).toBe(true);
      }
    }
  });

  it('promtool check config accepts the compose Prometheus config with the rules', async () => {
    const r = await tool(promtool, ['check', 'config', 'prometheus.yml']);
    expect(r.code, r.out).toBe(0);
    expect(r.out).toMatch(/SUCCESS: 2 rule files found/);
  });

  it('amtool check-config accepts the Alertmanager config, which routes by severity to e-mail', async () => {
    const r = await tool(amtool, ['check-config', 'alertmanager.yml']);
    expect(r.code, r.out).toBe(0);
    expect(r.out).toMatch(/SUCCESS/);
    const route = async (...labels: string[]) => (await tool(amtool, ['config', 'routes', 'test', '--config.file=alertmanager.yml', ...labels])).out.split('\n').filter((l) => l && !l.startsWith('Warning:')).join('\n').trim();
    expect(await route('severity=critical', 'alertname=VigilCriticalFinding', 'kind=duplicate_action')).toBe('oncall-critical');
    expect(await route('severity=warning', 'alertname=VigilConsumerLagHigh')).toBe('oncall-email');
    const am = parseYaml(readFileSync(`${ALERTS}alertmanager.yml`, 'utf8')) as { receivers: { name: string; email_configs?: { to: string }[] }[] };
    for (const r of am.receivers) expect(r.email_configs?.[0]?.to, r.name).toMatch(/@/);
  });

  it('amtool refuses a broken Alertmanager config (the check is real)', async () => {
    const { mkdtempSync, writeFileSync, rmSync } = await import('node:fs');
    const dir = mkdtempSync('/tmp/vigil-am-');
    try {
      writeFileSync(`${dir}/am.yml`, 'route:\n  receiver: nobody\nreceivers:\n  - name: someone\n');
      const r = await tool(amtool, ['check-config', `${dir}/am.yml`]);
      expect(r.code).not.toBe(0);
      expect(r.out).toMatch(/undefined receiver "nobody"/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
