/**
 * The agent action event of the event contract (docs/event-contract.md, section 1).
 * Types only: validation lives in validate-event.ts, the Avro schema in schemas/agent-action.avsc.
 */

export const EVENT_TYPES = [
  'intent.parsed',
  'confirmation.requested',
  'confirmation.accepted',
  'confirmation.rejected',
  'confirmation.expired',
  'stepup.requested',
  'stepup.passed',
  'stepup.failed',
  'authz.checked',
  'action.requested',
  'action.succeeded',
  'action.failed',
  'compensation.requested',
  'compensation.succeeded',
  'compensation.failed',
  'consent.granted',
  'consent.revoked',
] as const;

export type EventType = (typeof EVENT_TYPES)[number];

export const RISK_TIERS = ['low', 'medium', 'high'] as const;
export type RiskTier = (typeof RISK_TIERS)[number];

export const OUTCOME_STATUSES = ['ok', 'error', 'timeout'] as const;
export type OutcomeStatus = (typeof OUTCOME_STATUSES)[number];

export const COMPENSATION_KINDS = ['cancel', 'refund', 'void_auth', 'release_hold'] as const;
export type CompensationKind = (typeof COMPENSATION_KINDS)[number];

export interface ActionInfo {
  name: string;
  vendor: string;
  riskTier: RiskTier;
  stateChanging: boolean;
  amountMinor?: number;
  currency?: string;
}

export interface Outcome {
  status: OutcomeStatus;
  httpStatus?: number;
  errorCode?: string;
  latencyMs?: number;
  vendorRef?: string;
}

export interface CompensationInfo {
  forEventId: string;
  kind: CompensationKind;
  reason?: string;
}

/** One agent decision or action, as published to `agent.actions`. */
export interface AgentEvent {
  eventId: string;
  type: EventType;
  /** RFC 3339 UTC with milliseconds, e.g. 2026-11-20T10:00:00.000Z. */
  occurredAt: string;
  userId: string;
  agentId: string;
  agentVersion: string;
  /** Required for every type except consent.*. */
  intentId?: string;
  sessionId?: string;
  requestId?: string;
  traceId?: string;
  tenantId?: string;
  plan?: string;
  confidenceScore?: number;
  /** Required for every type except consent.*. */
  action?: ActionInfo;
  idempotencyKey?: string;
  payloadHash?: string;
  attempt?: number;
  decision?: 'allow' | 'deny';
  scopes?: string[];
  requiredScope?: string;
  outcome?: Outcome;
  compensation?: CompensationInfo;
}

/** An event that passed validation, with its event time parsed once. */
export interface ValidEvent extends AgentEvent {
  /** occurredAt as epoch milliseconds. */
  readonly ts: number;
}
