import type { Writable } from 'node:stream';
import type { Finding, Severity } from '../../processors/core/finding.ts';
import { checkBreakerPolicy } from '../breakers/breaker-policy.ts';
import { decideTrips } from '../breakers/decide-trips.ts';
import { checkCompensationPolicy } from '../compensation/compensation-policy.ts';
import { planCompensation, type CompensationPlan } from '../compensation/plan-compensation.ts';
import { incidentIdOf } from '../notify/incident.ts';
import { checkNotificationPolicy, maxSeverity, notifies, routeGroups, type NotificationPolicy } from '../notify/notification-policy.ts';
import type { Policy } from '../policy/load-policy.ts';

/** What `vigil replay --plan` prints: one line per thing the policy would do. */
export type PlanLine =
  | { plan: 'breaker'; findingId: string; kind: string; scope: string; id: string; shadow: boolean }
  | ({ plan: 'compensation' } & Pick<CompensationPlan, 'findingId' | 'forEventId' | 'kind' | 'vendor' | 'action' | 'idempotencyKey' | 'shadow'> & { findingKind: string })
  | {
      plan: 'notification';
      incident: string;
      kind: string;
      scope: string;
      severity: Severity;
      /** Recipient groups (their addresses come from the configuration). */
      to: string[];
      findings: number;
      firstAt: string;
      lastAt: string;
      /** The incident's e-mail, its reminders while its findings keep coming, by event time. */
      emails: number;
      alert: boolean;
    };

interface Window {
  incident: string;
  kind: string;
  scope: string;
  scopeType: string;
  scopeId: string;
  severity: Severity;
  first: number;
  last: number;
  findings: number;
}

/**
 * The backtest of the response (pure, no I/O): for each finding of a replay, the breakers it would trip,
 * the compensation it would ask for, and the incidents it would make (grouped as the live notifier does,
 * with event time standing in for the wall clock: findings of one kind and scope less than
 * `resolveQuietMs` apart are one incident; a reminder every `reminderMs` it lasts). Nothing is sent.
 */
export class ResponsePlanner {
  private readonly lines: PlanLine[] = [];
  private readonly open = new Map<string, Window>();
  private readonly closed: Window[] = [];
  private readonly notifications: NotificationPolicy;
  private readonly breakers;
  private readonly compensations;

  constructor(policy: Policy) {
    this.breakers = checkBreakerPolicy(policy.sections.breakers).policy;
    this.compensations = checkCompensationPolicy(policy.sections.compensations).policy;
    this.notifications = checkNotificationPolicy(policy.sections.notifications).policy;
  }

  add(f: Finding): void {
    const d = decideTrips(f, this.breakers, f.subjects);
    for (const t of d.trips) this.lines.push({ plan: 'breaker', findingId: f.findingId, kind: f.kind, scope: t.scope, id: t.id, shadow: false });
    for (const t of d.shadow) this.lines.push({ plan: 'breaker', findingId: f.findingId, kind: f.kind, scope: t.scope, id: t.id, shadow: true });
    const { plan } = planCompensation(f, this.compensations);
    if (plan) {
      this.lines.push({ plan: 'compensation', findingId: f.findingId, findingKind: f.kind, forEventId: plan.forEventId, kind: plan.kind, vendor: plan.vendor, action: plan.action, idempotencyKey: plan.idempotencyKey, shadow: plan.shadow });
    }
    if (!notifies(f, this.notifications)) return;
    const key = `${f.kind}\0${f.scope.type}\0${f.scope.id}`;
    const at = Date.parse(f.detectedAt);
    const w = this.open.get(key);
    if (w && at - w.last < this.notifications.resolveQuietMs) {
      w.last = Math.max(w.last, at);
      w.findings++;
      w.severity = maxSeverity(w.severity, f.severity);
      return;
    }
    if (w) this.closed.push(w);
    this.open.set(key, {
      incident: incidentIdOf(f.kind, f.scope), kind: f.kind, scope: `${f.scope.type}:${f.scope.id}`, scopeType: f.scope.type, scopeId: f.scope.id,
      severity: f.severity, first: at, last: at, findings: 1,
    });
  }

  /** Every line: breakers and compensations in finding order, then the incidents by first finding. */
  finish(): PlanLine[] {
    const windows = [...this.closed, ...this.open.values()].sort((a, b) => a.first - b.first || a.incident.localeCompare(b.incident));
    const p = this.notifications;
    const notes: PlanLine[] = windows.map((w) => ({
      plan: 'notification',
      incident: w.incident,
      kind: w.kind,
      scope: w.scope,
      severity: w.severity,
      to: routeGroups(p, { kind: w.kind, severity: w.severity, scopeType: w.scopeType, scopeId: w.scopeId }),
      findings: w.findings,
      firstAt: new Date(w.first).toISOString(),
      lastAt: new Date(w.last).toISOString(),
      emails: 1 + Math.floor(Math.max(0, w.last - w.first - p.groupWaitMs) / p.reminderMs),
      alert: true,
    }));
    return [...this.lines, ...notes];
  }
}

/** Writes the plan as JSON Lines, or as a table for people. */
export async function writePlan(out: Writable, lines: readonly PlanLine[], format: 'jsonl' | 'table'): Promise<void> {
  let text: string;
  if (format === 'jsonl') {
    text = lines.map((l) => JSON.stringify(l)).join('\n') + (lines.length ? '\n' : '');
  } else {
    const rows: string[] = ['WOULD DO                      WHAT'];
    for (const l of lines) {
      if (l.plan === 'breaker') rows.push(`${(l.shadow ? 'trip breaker (shadow)' : 'trip breaker').padEnd(30)}${l.scope}:${l.id} for ${l.kind} [${l.findingId}]`);
      else if (l.plan === 'compensation') rows.push(`${(l.shadow ? 'compensate (shadow)' : 'compensate').padEnd(30)}${l.kind} event ${l.forEventId} (${l.action} at ${l.vendor}) for ${l.findingKind} [${l.findingId}]`);
      else rows.push(`${'notify'.padEnd(30)}${l.severity} ${l.kind} on ${l.scope}: ${l.findings} finding${l.findings === 1 ? '' : 's'} ${l.firstAt}..${l.lastAt}, ${l.emails} e-mail${l.emails === 1 ? '' : 's'} to ${l.to.join(', ')}, an alert [incident ${l.incident}]`);
    }
    text = rows.join('\n') + '\n';
  }
  if (!out.write(text)) await new Promise<void>((resolve) => out.once('drain', resolve));
}

/** The one-line summary of a plan (standard error). */
export function planSummary(lines: readonly PlanLine[]): string {
  const n = (what: PlanLine['plan'], shadow?: boolean) => lines.filter((l) => l.plan === what && (shadow === undefined || ('shadow' in l && l.shadow === shadow))).length;
  const emails = lines.reduce((s, l) => s + (l.plan === 'notification' ? l.emails : 0), 0);
  return `plan: ${n('breaker', false)} breaker trips (${n('breaker', true)} shadow), ${n('compensation', false)} compensations (${n('compensation', true)} shadow), ` +
    `${n('notification')} incidents → ${emails} e-mails and ${n('notification')} alerts; nothing was sent`;
}
