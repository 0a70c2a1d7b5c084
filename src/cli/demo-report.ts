import type { DemoSnapshot } from './demo-state.ts';
import { printable } from './demo-view.ts';

/** Where the demo's results can be read, for the final report. */
export interface DemoPlaces {
  run: string;
  seed: number;
  rate: number;
  durationS: number;
  consoleUrl: string | undefined;
  metricsUrl: string | undefined;
  adminToken: string;
  mailDir: string;
  mailTo: string;
  mailFiles: string[];
  kept: boolean;
}

const s1 = (ms: number | undefined) => (ms === undefined ? '—' : `${(ms / 1000).toFixed(1)} s`);
const clip = (s: string, n: number) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);

/** The short report the demo ends with: what was caught, what was done, where to read more. */
export function reportLines(s: DemoSnapshot, p: DemoPlaces): string[] {
  const found = s.scenarios.filter((x) => x.foundAfterMs !== undefined);
  const out: string[] = [];
  out.push('', `━━ What vigil caught: ${found.length} of ${s.scenarios.length} injected scenarios; normal traffic raised ${s.unexpected.length} finding${s.unexpected.length === 1 ? '' : 's'} ━━`);
  for (const x of s.scenarios) {
    const f = s.findings.find((y) => y.findingId === x.findingIds[0]);
    out.push(`  ${x.foundAfterMs !== undefined ? '✔' : '✘'} ${x.scenario.padEnd(23)} ${x.kind.padEnd(29)} ${printable(`${x.scope.type}:${x.scope.id}`).padEnd(24)} ${x.foundAfterMs !== undefined ? `found at ${s1(x.foundAfterMs)} (${x.findingIds.length} finding${x.findingIds.length === 1 ? '' : 's'})` : 'NOT FOUND'}`);
    if (f) out.push(`      ${clip(printable(f.summary), 130)}`);
  }
  for (const f of s.unexpected) out.push(`  ! unexpected: ${f.kind} ${printable(`${f.scope.type}:${f.scope.id}`)}: ${clip(printable(f.summary), 110)}`);
  out.push('', '━━ What it did ━━');
  out.push(`  breakers opened: ${s.opened.length}${s.opened.length ? '' : ' (none)'}`);
  for (const b of s.opened) out.push(`    ${printable(`${b.scope}:${b.id}`).padEnd(26)} ${b.kind.padEnd(29)} ${clip(printable(b.summary), 80)}`);
  const c = s.compensations;
  out.push(`  compensations: ${c.requested} asked of the vendors, ${c.succeeded} succeeded, ${c.failed} failed (the simulated vendor adapter answered ${c.answered})`);
  out.push(`  e-mails: ${s.emails.sent} sent to ${p.mailTo}${s.emails.failed ? `, ${s.emails.failed} failed` : ''}`);
  out.push(`  alerts: ${s.alerts ? `${s.alerts.sent} pushed to Alertmanager` : 'none (no Alertmanager configured: VIGIL_ALERTMANAGER_URLS)'}`);
  out.push('', '━━ Where to look ━━');
  if (p.mailDir) out.push(`  the e-mails: ${p.mailFiles.length} .eml files in ${p.mailDir}${p.mailFiles[0] ? ` (e.g. ${p.mailFiles[0]})` : ''}`);
  else out.push('  the e-mails: at the SMTP server of SMTP_URL');
  if (p.consoleUrl) out.push(`  operator console: ${p.consoleUrl}${p.kept ? '' : ' (served while the demo runs; --keep-running keeps it up)'}  admin token: ${p.adminToken}`);
  if (p.metricsUrl) out.push(`  metrics: ${p.metricsUrl}`);
  out.push(`  the same traffic again: --seed ${p.seed} --rate ${p.rate} --duration ${p.durationS}`);
  const consumed = s.consumed >= s.published
    ? `${s.published} events published, all consumed`
    : `${s.published} events published, ${s.consumed} consumed (the rest were still in flight when the wait ended)`;
  out.push(`  first finding ${s1(s.firstFindingAfterMs)} after the command; ${consumed}`);
  return out;
}

/** The report as JSON (--report-json), for tests and scripts. */
export function reportJson(s: DemoSnapshot, p: DemoPlaces): unknown {
  return {
    run: p.run, seed: p.seed, rate: p.rate, durationS: p.durationS,
    firstFindingAfterMs: s.firstFindingAfterMs, published: s.published, consumed: s.consumed,
    scenarios: s.scenarios, unexpected: s.unexpected, findings: s.findings,
    breakersOpened: s.opened, breakersOpenAtEnd: s.breakers.map((b) => ({ scope: b.scope, id: b.id, state: b.effectiveState, until: b.until, kind: b.reason?.kind ?? null, actor: b.actor })),
    compensations: s.compensations, emails: { ...s.emails, to: p.mailTo, mailDir: p.mailDir, files: p.mailFiles }, alerts: s.alerts ?? null,
    consoleUrl: p.consoleUrl ?? null, metricsUrl: p.metricsUrl ?? null,
  };
}
