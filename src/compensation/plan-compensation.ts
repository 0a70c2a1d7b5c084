import type { AnomalyKind, Finding, Scope } from '../../processors/core/finding.ts';
import type { CompensationKind, ValidEvent } from '../../processors/core/events.ts';
import { compensationKindFor, type CompensationPolicy } from './compensation-policy.ts';

/**
 * What vigil asks a vendor adapter to do (pure: no I/O here). One saga per event to undo; its command
 * goes to Kafka `safety.compensations` (schemas/compensation-command.avsc), once per attempt.
 */
export interface CompensationPlan {
  /** The event to undo (Finding.target.eventId). */
  forEventId: string;
  kind: CompensationKind;
  findingId: string;
  findingKind: AnomalyKind;
  /** Derived from the findingId: the same on every attempt, so the vendor undoes the action once. */
  idempotencyKey: string;
  vendor: string;
  action: string;
  /** Why, in one line: the finding's summary. */
  reason: string;
  scope: Scope;
  detectedAt: string;
  policyVersion: string;
  /** The rule is in shadow mode: planned and reported, never sent. */
  shadow: boolean;
}

/** The command as it goes on the topic: the plan, the attempt, and when the saga started (Redis time). */
export interface CompensationCommand {
  /** `<idempotencyKey>#<attempt>`: one message per attempt; a reader dedupes on it. */
  commandId: string;
  idempotencyKey: string;
  findingId: string;
  findingKind: AnomalyKind;
  kind: CompensationKind;
  forEventId: string;
  vendor: string;
  action: string;
  reason: string;
  scopeType: string;
  scopeId: string;
  attempt: number;
  /** RFC 3339: when vigil first asked (the saga's creation, Redis time). */
  requestedAt: string;
  /** RFC 3339 event time of the finding. */
  detectedAt: string;
  policyVersion: string;
}

/** The part of the command that does not change between attempts (stored with the saga). */
export type SagaCommandBase = Omit<CompensationCommand, 'commandId' | 'attempt' | 'requestedAt'>;

/** The idempotency key of a finding's compensation: `cmp_` and the findingId's hex. */
export function idempotencyKeyOf(findingId: string): string {
  return 'cmp_' + findingId.replace(/^f_/, '');
}

export function commandIdOf(idempotencyKey: string, attempt: number): string {
  return `${idempotencyKey}#${attempt}`;
}

/**
 * The compensation a finding asks for under the policy, or why none: a shadow finding, a kind without
 * a rule (or `none`), a finding that names no action. A shadow rule gives a plan marked shadow.
 */
export function planCompensation(f: Finding, policy: CompensationPolicy): { plan?: CompensationPlan; why?: string } {
  if (f.shadow) return { why: 'shadow finding: no compensation' };
  const rule = policy.rules[f.kind];
  if (rule === undefined) return { why: `no compensation rule for ${f.kind}` };
  if (f.target === undefined) return { why: `${f.kind} finding names no action to undo` };
  const kind = compensationKindFor(rule, f.target.action);
  if (kind === 'none') return { why: `the rule for ${f.kind} asks for nothing${rule.action === 'none' ? '' : ` for ${f.target.action}`}` };
  return {
    plan: {
      forEventId: f.target.eventId,
      kind,
      findingId: f.findingId,
      findingKind: f.kind,
      idempotencyKey: idempotencyKeyOf(f.findingId),
      vendor: f.target.vendor,
      action: f.target.action,
      reason: f.summary.slice(0, 1000),
      scope: { ...f.scope },
      detectedAt: f.detectedAt,
      policyVersion: f.policyVersion,
      shadow: rule.shadow,
    },
  };
}

/** The static part of a plan's command. */
export function commandBaseOf(p: CompensationPlan): SagaCommandBase {
  return {
    idempotencyKey: p.idempotencyKey,
    findingId: p.findingId,
    findingKind: p.findingKind,
    kind: p.kind,
    forEventId: p.forEventId,
    vendor: p.vendor,
    action: p.action,
    reason: p.reason,
    scopeType: p.scope.type,
    scopeId: p.scope.id,
    detectedAt: p.detectedAt,
    policyVersion: p.policyVersion,
  };
}

/** A compensation outcome reported on agent.actions, paired with its saga by forEventId. */
export interface CompensationOutcome {
  forEventId: string;
  outcome: 'requested' | 'succeeded' | 'failed';
  eventId: string;
  /** occurredAt, epoch ms. */
  ts: number;
}

/** The compensation.* events of a batch, as outcomes, in batch order. */
export function compensationOutcomes(events: readonly ValidEvent[]): CompensationOutcome[] {
  const out: CompensationOutcome[] = [];
  for (const e of events) {
    if (e.compensation === undefined) continue;
    const outcome = e.type === 'compensation.succeeded' ? 'succeeded' : e.type === 'compensation.failed' ? 'failed' : e.type === 'compensation.requested' ? 'requested' : undefined;
    if (outcome !== undefined) out.push({ forEventId: e.compensation.forEventId, outcome, eventId: e.eventId, ts: e.ts });
  }
  return out;
}

/** Re-send delay after attempt n timed out: min(cap, base·2^(n-1)) (the Lua script computes the same). */
export function resendDelayMs(policy: CompensationPolicy, attempt: number): number {
  return Math.min(policy.resend.capMs, policy.resend.baseMs * 2 ** Math.max(0, attempt - 1));
}
