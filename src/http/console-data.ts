import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Finding } from '../../processors/core/finding.ts';
import { ANOMALY_KINDS } from '../../processors/core/finding.ts';
import type { BreakerStore } from '../breakers/breaker-store.ts';
import { breakerView, type BreakerView } from '../breakers/view.ts';
import type { SagaStore } from '../compensation/saga-store.ts';
import { incidentIdOf } from '../notify/incident.ts';
import type { IncidentStore } from '../notify/incident-store.ts';

/** Where the runbooks are: docs/runbooks of this checkout (served by the console). */
export const RUNBOOK_DIR = fileURLToPath(new URL('../../docs/runbooks/', import.meta.url));

/** The runbook link of a kind: under `base` when configured, else the console's copy; undefined for an unknown kind. */
export function runbookLink(kind: string, base: string | undefined): string | undefined {
  if (!(ANOMALY_KINDS as readonly string[]).includes(kind)) return undefined;
  if (base) return `${base.replace(/\/+$/, '')}/${kind}.md`;
  return existsSync(`${RUNBOOK_DIR}${kind}.md`) ? `/console/runbooks/${kind}.md` : undefined;
}

export interface ConsoleSaga {
  forEventId: string;
  kind: string;
  vendor: string;
  action: string;
  state: string;
  attempts: number;
  findingId: string;
}

export interface ConsoleIncident {
  id: string;
  kind: string;
  scope: { type: string; id: string };
  severity: string;
  /** open / resolved (from Redis), or recent (no incident record: notifications are off). */
  state: string;
  openedAt: string | null;
  lastAt: string | null;
  findings: number;
  summary: string;
  runbook: string | null;
  breakers: string[];
  compensations: ConsoleSaga[];
}

export interface ConsoleFinding {
  findingId: string;
  kind: string;
  severity: string;
  scope: { type: string; id: string };
  detectedAt: string;
  summary: string;
  eventIds: string[];
  traceIds: string[];
  target: { eventId: string; action: string; vendor: string } | null;
  shadow: boolean;
  runbook: string | null;
}

/** What the console shows, as GET /console/state and the SSE stream send it. */
export interface ConsoleState {
  now: string;
  breakers: (BreakerView & { runbook: string | null })[];
  incidents: ConsoleIncident[];
  findings: ConsoleFinding[];
  /** Why findings are missing (the tail cannot read the topic), if so. */
  findingsProblem: string | null;
}

export interface ConsoleSources {
  breakers: BreakerStore;
  incidents: IncidentStore;
  sagas: SagaStore;
  findings: () => { list: Finding[]; problem: string | undefined };
  runbookBaseUrl: string | undefined;
}

const iso = (ms: number | undefined) => (ms ? new Date(ms).toISOString() : null);

/** Reads the console's state: breakers not closed, incidents (open ones and those of recent findings) with their compensations, recent findings. */
export async function readConsoleState(s: ConsoleSources): Promise<ConsoleState> {
  const now = await s.breakers.now();
  const breakers = (await s.breakers.list())
    .map((b) => breakerView(b, now))
    .filter((b) => b.effectiveState !== 'closed')
    .sort((a, b) => (a.since ?? '').localeCompare(b.since ?? ''))
    .map((b) => ({ ...b, runbook: b.reason ? runbookLink(b.reason.kind, s.runbookBaseUrl) ?? null : null }));
  const { list, problem } = s.findings();
  const findings: ConsoleFinding[] = list.slice(0, 50).map((f) => ({
    findingId: f.findingId, kind: f.kind, severity: f.severity, scope: f.scope, detectedAt: f.detectedAt, summary: f.summary,
    eventIds: f.eventIds.slice(0, 10), traceIds: (f.traceIds ?? []).slice(0, 10), target: f.target ?? null, shadow: f.shadow,
    runbook: runbookLink(f.kind, s.runbookBaseUrl) ?? null,
  }));

  // incidents: the open ones in Redis, and one per (kind, scope) of the recent findings
  const ids = new Map<string, Finding[]>();
  for (const id of await s.incidents.open(100)) ids.set(id, []);
  for (const f of list) {
    const id = incidentIdOf(f.kind, f.scope);
    ids.set(id, [...(ids.get(id) ?? []), f]);
  }
  const incidents: ConsoleIncident[] = [];
  for (const [id, fs] of [...ids].slice(0, 50)) {
    const v = await s.incidents.view(id);
    const latest = fs[0];
    if (!v && !latest) continue;
    const sagaIds = new Set(v?.sagaIds ?? []);
    for (const f of fs) if (f.target) sagaIds.add(f.target.eventId);
    const sagas = (await s.sagas.getMany([...sagaIds].slice(0, 20))).flatMap((x) =>
      x ? [{ forEventId: x.forEventId, kind: x.command.kind, vendor: x.command.vendor, action: x.command.action, state: x.state, attempts: x.attempts, findingId: x.findingId }] : [],
    );
    const kind = v?.kind ?? latest!.kind;
    incidents.push({
      id,
      kind,
      scope: v?.scope ?? latest!.scope,
      severity: v?.severity ?? latest!.severity,
      state: v?.state ?? 'recent',
      openedAt: v ? iso(v.openedAt) : fs[fs.length - 1]!.detectedAt,
      lastAt: v ? iso(v.lastAt) : latest!.detectedAt,
      findings: v?.findingCount ?? fs.length,
      summary: v?.latest?.summary ?? latest?.summary ?? '',
      runbook: runbookLink(kind, s.runbookBaseUrl) ?? null,
      breakers: v?.breakerKeys ?? [],
      compensations: sagas,
    });
  }
  incidents.sort((a, b) => (b.lastAt ?? '').localeCompare(a.lastAt ?? ''));
  return { now: new Date(now).toISOString(), breakers, incidents, findings, findingsProblem: problem ?? null };
}
