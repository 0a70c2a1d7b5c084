import type { Verdict } from './oracle.ts';

/** What a chaos run did and found, for the summary it prints (and the long run's RESULTS.md). */
export interface ChaosFigures {
  mode: 'short' | 'long';
  seed: number;
  wallSeconds: number;
  faults: Record<string, number>;
  events: { generated: number; closing: number; scenariosInjected: number; sent: number; failedSends: number; resentEvents: number };
  monitor: { lives: number; consumed: number; duplicatesSkipped: number };
  outages: { name: string; downSeconds: number; readyzWhileDown: string; metricsWhileDown: string; resumedInSeconds: number; restartedByTest: boolean }[];
  verdict: Verdict;
}

export function renderFigures(f: ChaosFigures): string {
  const v = f.verdict;
  const faults = Object.entries(f.faults).map(([k, n]) => `${k} ${n}`).join(', ');
  const lines = [
    `chaos suite (${f.mode}, seed ${f.seed}): ${f.wallSeconds} s`,
    `  faults injected: ${faults} (total ${Object.values(f.faults).reduce((a, b) => a + b, 0)})`,
    `  events: ${f.events.generated} generated + ${f.events.closing} closing, ${f.events.scenariosInjected} anomaly scenarios injected; ` +
      `${f.events.sent} sent, ${f.events.failedSends} failed sends re-sent (${f.events.resentEvents} events possibly twice on the topic)`,
    `  monitor: ${f.monitor.lives} processes (lives) of instance A; ${f.monitor.consumed} messages consumed by the last life; ${f.monitor.duplicatesSkipped} redeliveries skipped by dedupe (last life)`,
    ...f.outages.map((o) => `  outage ${o.name}: down ${o.downSeconds} s; /readyz while down: ${o.readyzWhileDown}; metrics while down: ${o.metricsWhileDown}; ` +
      `consuming again ${o.resumedInSeconds} s after it returned${o.restartedByTest ? ' (after a restart)' : ', same process, no restart'}`),
    `  findings: expected ${v.findings.expected}, made ${v.findings.made} (${v.findings.messages} messages on the topic, ${v.findings.messages - v.findings.made} redelivered copies of a findingId); ` +
      `duplicated anomalies ${v.findings.duplicatedByAnomaly.length}, missing ${v.findings.missing.length}, unexpected ${v.findings.unexpected.length}`,
    `  compensation commands: expected ${v.commands.expected}, made ${v.commands.made}; duplicated ${v.commands.duplicated.length}, missing ${v.commands.missing.length}, unexpected ${v.commands.unexpected.length}`,
    `  e-mails: ${v.emails.expectedIncidents} incidents expected to mail; ${v.emails.messages} messages (${Object.entries(v.emails.byType).map(([k, n]) => `${k} ${n}`).join(', ')}), ` +
      `${v.emails.distinct} distinct Message-IDs; duplicated ${v.emails.duplicatedMessageIds.length}, incidents never mailed ${v.emails.incidentsWithoutOpenedMail.length}`,
  ];
  const list = (what: string, xs: readonly string[]) => {
    if (xs.length > 0) lines.push(`    ${what}: ${xs.slice(0, 12).join('; ')}${xs.length > 12 ? `; … ${xs.length - 12} more` : ''}`);
  };
  list('missing findings', v.findings.missing);
  list('unexpected findings', v.findings.unexpected);
  list('anomalies under two ids', v.findings.duplicatedByAnomaly);
  list('missing commands (by findingId)', v.commands.missing);
  list('duplicated commands', v.commands.duplicated);
  list('duplicated e-mails', v.emails.duplicatedMessageIds);
  list('incidents never mailed', v.emails.incidentsWithoutOpenedMail);
  return lines.join('\n');
}
