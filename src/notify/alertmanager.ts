import { VigilError } from '../errors/vigil-error.ts';
import { dashboardUrlOf, runbookUrl, type LinkBases } from './email-render.ts';
import type { IncidentView } from './incident.ts';
import { cleanText } from './mask.ts';

/** One alert of Alertmanager's v2 API (`POST /api/v2/alerts` takes a list of them). */
export interface PostableAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
  generatorURL?: string;
}

/** The alertname of every incident alert; `kind` tells them apart. */
export const ALERT_NAME = 'VigilIncident';

/** A label value: no control characters, PII masked, bounded (labels end up in pages and chat). */
const label = (s: string) => cleanText(s, 200);

/**
 * The alert of an incident (pure). Its labels identify it (the same on every push and from every
 * instance, so Alertmanager keeps one alert): alertname, kind, severity (the incident's first),
 * scope_type, scope_id. While it is open, endsAt lies `ttlMs` ahead and every re-push moves it on, as
 * Alertmanager expects of a client; once resolved, endsAt is the resolution time.
 */
export function alertOf(v: IncidentView, links: LinkBases, now: number, ttlMs: number): PostableAlert {
  const resolved = v.state === 'resolved';
  const dashboard = dashboardUrlOf(v, links);
  const ids = v.findingIds.slice(0, 20).join(',');
  const alert: PostableAlert = {
    labels: {
      alertname: ALERT_NAME,
      kind: v.kind,
      severity: v.firstSeverity,
      scope_type: v.scope.type,
      scope_id: label(v.scope.id),
      source: 'vigil',
    },
    annotations: {
      summary: cleanText(v.first?.summary ?? `${v.kind} on ${v.scope.type} ${v.scope.id}`, 500),
      runbook_url: runbookUrl(v.kind, links),
      finding_ids: cleanText(ids + (v.findingCount > 20 ? `,… (${v.findingCount} in all)` : ''), 2000),
      finding_count: String(v.findingCount),
      incident: `${v.id}/${v.window}`,
      breakers: v.breakers.map((b) => `${b.scope}:${label(b.id)} ${b.state}`).join(', ') || 'none',
      ...(dashboard ? { dashboard_url: dashboard } : {}),
    },
    startsAt: new Date(v.openedAt).toISOString(),
    endsAt: new Date(resolved ? (v.resolvedAt ?? now) : now + ttlMs).toISOString(),
  };
  if (dashboard) alert.generatorURL = dashboard;
  return alert;
}

/** Alertmanager did not take the alerts (down, or an error answer): retried from the outbox. */
export class AlertmanagerError extends VigilError {
  constructor(message: string, retriable: boolean, cause?: unknown) {
    super(message, { retriable, cause });
  }
}

/**
 * Posts alerts to every Alertmanager (an HA pair expects each client to send to all of them). Fails
 * when one of them did not take them, so the job is retried; a repeat is harmless (same labels).
 */
export async function pushAlerts(urls: readonly string[], alerts: readonly PostableAlert[], timeoutMs: number): Promise<void> {
  const problems: string[] = [];
  await Promise.all(
    urls.map(async (base) => {
      try {
        const res = await fetch(`${base}/api/v2/alerts`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(alerts),
          signal: AbortSignal.timeout(timeoutMs),
        });
        if (!res.ok) problems.push(`${base}: HTTP ${res.status} ${(await res.text()).slice(0, 200)}`);
      } catch (e) {
        problems.push(`${base}: ${(e as Error).message}`);
      }
    }),
  );
  if (problems.length > 0) throw new AlertmanagerError(`Alertmanager did not take the alert: ${problems.join('; ')}`, true);
}
