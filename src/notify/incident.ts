import { createHash } from 'node:crypto';
import type { Finding, Scope, Severity } from '../../processors/core/finding.ts';

/**
 * An incident: one anomaly kind on one scope (duplicate_action on user u_4f2a), the unit on-call
 * engineers hear about. Its findings are grouped into windows: a window opens with the first finding
 * while none is open, and ends when the incident resolves (its breakers closed, or, without a breaker,
 * no finding for the policy's quiet time). Pure types and helpers.
 */

/** The incident id: 16 hex digits of sha1(kind, scope), the same on every instance and in every run. */
export function incidentIdOf(kind: string, scope: Scope): string {
  return createHash('sha1').update(`${kind}\0${scope.type}\0${scope.id}`).digest('hex').slice(0, 16);
}

/** What an e-mail shows of a finding (kept with the incident). */
export interface FindingDigest {
  findingId: string;
  summary: string;
  detectedAt: string;
  severity: Severity;
  ruleId: string;
  policyVersion: string;
  eventIds: string[];
  traceIds: string[];
}

/** How many evidence ids an incident keeps per finding. */
const MAX_IDS = 20;

export function digestOf(f: Finding): FindingDigest {
  return {
    findingId: f.findingId,
    summary: f.summary.slice(0, 2000),
    detectedAt: f.detectedAt,
    severity: f.severity,
    ruleId: f.ruleId,
    policyVersion: f.policyVersion,
    eventIds: f.eventIds.slice(0, MAX_IDS),
    traceIds: (f.traceIds ?? []).slice(0, MAX_IDS),
  };
}

export interface BreakerDigest {
  scope: string;
  id: string;
  state: string;
  /** Until when the state holds (epoch ms), or null. */
  until: number | null;
  trips: number;
}

export interface SagaDigest {
  forEventId: string;
  kind: string;
  vendor: string;
  action: string;
  state: string;
  attempts: number;
  succeededAt?: number | undefined;
  failedAt?: number | undefined;
}

/** An incident as an e-mail or an alert shows it. */
export interface IncidentView {
  id: string;
  window: number;
  kind: string;
  scope: Scope;
  /** The highest severity of its findings; `firstSeverity` is the one its alert is labelled with. */
  severity: Severity;
  firstSeverity: Severity;
  state: 'open' | 'resolved';
  openedAt: number;
  lastAt: number;
  resolvedAt: number | undefined;
  resolvedWhy: string | undefined;
  findingCount: number;
  /** Findings counted when the last e-mail was queued (a reminder tells what is new). */
  mailedCount: number;
  /** The window's first findingIds, in arrival order. */
  findingIds: string[];
  first: FindingDigest | undefined;
  latest: FindingDigest | undefined;
  breakers: BreakerDigest[];
  sagas: SagaDigest[];
  reminders: number;
}

/** One job in the outbox. The job id is deterministic: an e-mail's Message-ID derives from it. */
export interface OutboxJob {
  channel: 'email' | 'alertmanager';
  incidentId: string;
  window: number;
  type: 'opened' | 'reminder' | 'resolved' | 'firing';
  /** The reminder's number (0 otherwise). */
  n: number;
}

export function jobIdOf(j: OutboxJob): string {
  return `${j.channel}.${j.incidentId}.${j.window}.${j.type}${j.n > 0 ? `.${j.n}` : ''}`;
}

/** The Message-ID of an e-mail job: the same on every attempt, so a receiver can drop a copy. */
export function messageIdOf(j: OutboxJob, domain: string): string {
  return `<vigil.${jobIdOf(j)}@${domain}>`;
}
