import type { IncidentView, OutboxJob } from './incident.ts';
import { cleanText, escapeHtml } from './mask.ts';

/** Where an e-mail's links point (configuration, never event data). */
export interface LinkBases {
  /** Base URL of the runbooks ('' = the repository path docs/runbooks). */
  runbookBaseUrl: string;
  /** The incident dashboard ('' = no link). */
  dashboardUrl: string;
}

export interface RenderedEmail {
  /** Built from enums and the incident id only: event data never reaches a header. */
  subject: string;
  text: string;
  html: string;
}

/** The runbook of a kind. */
export function runbookUrl(kind: string, links: LinkBases): string {
  const file = `${encodeURIComponent(kind)}.md`;
  return links.runbookBaseUrl ? `${links.runbookBaseUrl}/${file}` : `docs/runbooks/${file}`;
}

/** The dashboard, narrowed to the incident's kind, scope and time (Grafana-style variables). */
export function dashboardUrlOf(v: Pick<IncidentView, 'kind' | 'scope' | 'openedAt' | 'resolvedAt'>, links: LinkBases): string | undefined {
  if (!links.dashboardUrl) return undefined;
  const sep = links.dashboardUrl.includes('?') ? '&' : '?';
  const q = new URLSearchParams({
    'var-kind': v.kind,
    'var-scope_type': v.scope.type,
    'var-scope_id': cleanText(v.scope.id, 200),
    from: String(v.openedAt - 15 * 60_000),
    to: v.resolvedAt !== undefined ? String(v.resolvedAt + 5 * 60_000) : 'now',
  });
  return `${links.dashboardUrl}${sep}${q.toString()}`;
}

const iso = (ms: number | null | undefined) => (ms === null || ms === undefined || !Number.isFinite(ms) || ms <= 0 ? '' : new Date(ms).toISOString());

/**
 * The e-mail of an incident job (pure), in text and HTML: what happened in one line, then the scope,
 * the evidence (event and trace ids), the breaker state and until when, the compensation status, and
 * links to the runbook and the dashboard. Every value that comes from events is cleaned (no control
 * characters) and PII-masked; in HTML it is escaped as well.
 */
export function renderIncidentEmail(v: IncidentView, job: OutboxJob, links: LinkBases, now: number): RenderedEmail {
  const short = v.id.slice(0, 8);
  const sev = v.severity.toUpperCase();
  const what = job.type === 'resolved' ? 'resolved' : job.type === 'reminder' ? `still open (reminder ${job.n})` : 'new';
  // Only enums and hex: an odd scope id, summary or event id can never touch the Subject.
  const subject = `[vigil] ${sev} ${v.kind} on a ${v.scope.type}: incident ${short} ${what}`;

  const headline = cleanText(v.first?.summary ?? `${v.kind} on ${v.scope.type} ${v.scope.id}`, 600);
  const status = v.state === 'open'
    ? `open since ${iso(v.openedAt)}`
    : `resolved at ${iso(v.resolvedAt)} (${v.resolvedWhy === 'breaker_closed' ? 'its breakers closed' : v.resolvedWhy === 'quiet' ? 'no new finding for the quiet time' : 'resolved'}), open since ${iso(v.openedAt)}`;
  const newSince = Math.max(0, v.findingCount - v.mailedCount);
  const findingsLine = `${v.findingCount} finding${v.findingCount === 1 ? '' : 's'} in this incident${job.type === 'reminder' && newSince > 0 ? ` (${newSince} since the last e-mail)` : ''}; latest at ${v.latest?.detectedAt ?? '?'} (event time)`;
  const evidenceEvents = [...new Set([...(v.first?.eventIds ?? []), ...(v.latest?.eventIds ?? [])])].slice(0, 20).map((x) => cleanText(x, 120));
  const evidenceTraces = [...new Set([...(v.first?.traceIds ?? []), ...(v.latest?.traceIds ?? [])])].slice(0, 10).map((x) => cleanText(x, 120));
  const breakers = v.breakers.length === 0
    ? ['none (no breaker rule for this kind, or it runs in shadow mode)']
    : v.breakers.map((b) => `${b.scope}:${cleanText(b.id, 200)} ${b.state}${b.until ? ` until ${iso(b.until)}` : ''} (trip ${b.trips})`);
  const sagas = v.sagas.length === 0
    ? ['none asked (see the policy\'s compensations section)']
    : v.sagas.map((s) => {
        const detail = s.state === 'succeeded' ? `succeeded at ${iso(s.succeededAt)}` : s.state === 'failed' ? `failed at ${iso(s.failedAt)}` : s.state === 'timed_out' ? `timed out after ${s.attempts} attempts: handle it by hand` : `requested, attempt ${Math.max(1, s.attempts)}${s.attempts === 0 ? ' (queued)' : ''}, awaiting the vendor`;
        return `${s.kind} of event ${cleanText(s.forEventId, 120)} (${cleanText(s.action, 100)} at ${cleanText(s.vendor, 100)}): ${detail}`;
      });
  const runbook = runbookUrl(v.kind, links);
  const dashboard = dashboardUrlOf(v, links);
  const findings = v.findingIds.map((x) => cleanText(x, 80));

  const rows: [string, string[]][] = [
    ['Incident', [`${v.id} (window ${v.window}), ${v.kind}, severity ${v.severity}`]],
    ['Scope', [`${v.scope.type} ${cleanText(v.scope.id, 200)}`]],
    ['Status', [status]],
    ['Findings', [findingsLine]],
    ['Evidence events', evidenceEvents.length ? evidenceEvents : ['none']],
    ['Trace ids', evidenceTraces.length ? evidenceTraces : ['none']],
    ['Breakers', breakers],
    ['Compensation', sagas],
    ['Runbook', [runbook]],
    ...(dashboard ? ([['Dashboard', [dashboard]]] as [string, string[]][]) : []),
  ];
  const latestLine = v.latest && v.latest.findingId !== v.first?.findingId ? cleanText(v.latest.summary, 600) : undefined;

  const text = [
    headline,
    '',
    ...rows.map(([k, vals]) => `${(k + ':').padEnd(17)}${vals.join('\n' + ' '.repeat(17))}`),
    ...(latestLine ? ['', `Latest: ${latestLine}`] : []),
    '',
    `Finding ids (first ${findings.length} of ${v.findingCount}):`,
    ...findings.map((f) => `  ${f}`),
    '',
    `Policy ${cleanText(v.first?.policyVersion ?? '', 40)}, rule ${cleanText(v.first?.ruleId ?? '', 80)}. Sent by vigil at ${iso(now)}.`,
  ].join('\n');

  const link = (u: string) => (/^https?:\/\//.test(u) ? `<a href="${escapeHtml(u)}">${escapeHtml(u)}</a>` : `<code>${escapeHtml(u)}</code>`);
  const htmlRows = rows.map(([k, vals]) => {
    const cell = k === 'Runbook' || k === 'Dashboard' ? vals.map(link).join('<br>') : vals.map(escapeHtml).join('<br>');
    return `<tr><th style="text-align:left;vertical-align:top;padding:2px 12px 2px 0">${escapeHtml(k)}</th><td style="padding:2px 0">${cell}</td></tr>`;
  });
  const color = v.state === 'resolved' ? '#2e7d32' : v.severity === 'critical' ? '#c62828' : v.severity === 'warning' ? '#ef6c00' : '#1565c0';
  const html = [
    '<!doctype html><html><body style="font-family:sans-serif;font-size:14px">',
    `<p style="font-size:16px;border-left:4px solid ${color};padding-left:8px"><strong>${escapeHtml(headline)}</strong></p>`,
    `<table>${htmlRows.join('')}</table>`,
    ...(latestLine ? [`<p><strong>Latest:</strong> ${escapeHtml(latestLine)}</p>`] : []),
    `<p>Finding ids (first ${findings.length} of ${v.findingCount}):</p><ul>${findings.map((f) => `<li><code>${escapeHtml(f)}</code></li>`).join('')}</ul>`,
    `<p style="color:#666">Policy ${escapeHtml(cleanText(v.first?.policyVersion ?? '', 40))}, rule ${escapeHtml(cleanText(v.first?.ruleId ?? '', 80))}. Sent by vigil at ${iso(now)}.</p>`,
    '</body></html>',
  ].join('\n');
  return { subject, text, html };
}
