/**
 * Findings (docs/event-contract.md, section 3): one per anomaly, published to `safety.findings`.
 */

export const ANOMALY_KINDS = [
  'retry_spike',
  'idempotency_key_reuse',
  'duplicate_action',
  'missing_idempotency_key',
  'unconfirmed_action',
  'confirmation_mismatch',
  'missing_step_up',
  'confirmation_failure_spike',
  'vendor_failure_rate',
  'scope_violation',
  'action_after_consent_revoked',
  'runaway_agent',
  'orphaned_action',
  'compensation_failed',
  'unmasked_pii',
] as const;

export type AnomalyKind = (typeof ANOMALY_KINDS)[number];

export const SCOPE_TYPES = ['global', 'vendor', 'agent', 'user', 'action'] as const;
export type ScopeType = (typeof SCOPE_TYPES)[number];

export const SEVERITIES = ['info', 'warning', 'critical'] as const;
export type Severity = (typeof SEVERITIES)[number];

export interface Scope {
  type: ScopeType;
  id: string;
}

/**
 * The one action a finding is about, where it is about one (an unconfirmed or duplicated action): the
 * event that a compensation would undo, with the action's name and vendor (who would undo it).
 */
export interface ActionTarget {
  eventId: string;
  action: string;
  vendor: string;
}

export interface Finding {
  /** Deterministic: derived from kind, scope and evidence (see finding-id.ts). */
  findingId: string;
  kind: AnomalyKind;
  severity: Severity;
  scope: Scope;
  /** Event time of the event that completed the evidence (RFC 3339, ms). */
  detectedAt: string;
  /** Evidence, the triggering event included. */
  eventIds: string[];
  ruleId: string;
  policyVersion: string;
  shadow: boolean;
  /** One sentence an on-call engineer can act on. */
  summary: string;
  /** Trace ids of the evidence events, where they had one (for breakers and e-mails). */
  traceIds?: string[];
  /** Rule counts behind the finding, e.g. { observed: 31, threshold: 30, windowMs: 60000 }. */
  metrics?: Record<string, number>;
  /**
   * The distinct agents and users behind the evidence, where the detector knows them (a vendor's
   * failures): the breakers use them for a quorum and to open a narrower scope.
   */
  subjects?: Subjects;
  /** The action to undo, for findings about one action (duplicate_action: the later success). */
  target?: ActionTarget;
}

export interface Subjects {
  agents: string[];
  users: string[];
}
