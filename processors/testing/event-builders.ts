import type { ActionInfo, AgentEvent, EventType, ValidEvent } from '../core/events.ts';
import { validateEvent } from '../core/validate-event.ts';

/** Event time of second 0 in scenarios: 2026-11-20T10:00:00.000Z. */
export const T0 = Date.parse('2026-11-20T10:00:00.000Z');

/** Event time `s` seconds after T0 (fractions allowed). */
export function at(s: number): number {
  return T0 + Math.round(s * 1000);
}

/** Fields a scenario may set; `at` is seconds after T0 (default 0), or use `ts` for epoch ms. */
export type EventOverrides = Partial<Omit<AgentEvent, 'action' | 'occurredAt'>> & {
  at?: number;
  ts?: number;
  action?: Partial<ActionInfo>;
};

let counter = 0;

/** Restarts the generated event ids (e-1, e-2…), for tests that compare ids across runs. */
export function resetEventIds(): void {
  counter = 0;
}

const DEFAULT_ACTION: ActionInfo = { name: 'flight.book', vendor: 'acme-air', riskTier: 'high', stateChanging: true };

/**
 * Builds a valid event of `type` (run through the contract's validation) with scenario defaults:
 * user u_1, agent travel-assistant, intent i-1, a high-risk state-changing flight.book at acme-air.
 */
export function event(type: EventType, o: EventOverrides = {}): ValidEvent {
  const { at: s, ts, action, ...rest } = o;
  const time = ts ?? at(s ?? 0);
  const raw: Record<string, unknown> = {
    eventId: `e-${++counter}`,
    type,
    occurredAt: new Date(time).toISOString(),
    userId: 'u_1',
    agentId: 'travel-assistant',
    agentVersion: '2.3.1',
  };
  if (!type.startsWith('consent.')) {
    raw.intentId = 'i-1';
    raw.action = { ...DEFAULT_ACTION, ...action };
  } else if (action !== undefined) {
    raw.action = { ...DEFAULT_ACTION, ...action };
  }
  if (type === 'action.requested') raw.attempt = 1;
  if (type.startsWith('action.')) {
    raw.idempotencyKey = 'idk-1';
    raw.payloadHash = 'sha256:p1';
  }
  if (type === 'confirmation.requested' || type === 'confirmation.accepted') raw.payloadHash = 'sha256:p1';
  if (type === 'action.succeeded' || type === 'compensation.succeeded') raw.outcome = { status: 'ok', httpStatus: 200, latencyMs: 300 };
  if (type === 'action.failed' || type === 'compensation.failed') raw.outcome = { status: 'error', httpStatus: 502, latencyMs: 300 };
  if (type === 'authz.checked') raw.decision = 'allow';
  if (type.startsWith('compensation.')) raw.compensation = { forEventId: 'e-booked', kind: 'cancel' };
  for (const [k, v] of Object.entries(rest)) {
    if (v === undefined) delete raw[k];
    else raw[k] = v;
  }
  return validateEvent(raw);
}

type Builder = (o?: EventOverrides) => ValidEvent;
const b = (type: EventType): Builder => (o) => event(type, o);

export const intentParsed = b('intent.parsed');
export const confirmationRequested = b('confirmation.requested');
export const confirmationAccepted = b('confirmation.accepted');
export const confirmationRejected = b('confirmation.rejected');
export const confirmationExpired = b('confirmation.expired');
export const stepupRequested = b('stepup.requested');
export const stepupPassed = b('stepup.passed');
export const stepupFailed = b('stepup.failed');
export const authzChecked = b('authz.checked');
export const actionRequested = b('action.requested');
export const actionSucceeded = b('action.succeeded');
export const actionFailed = b('action.failed');
export const compensationRequested = b('compensation.requested');
export const compensationSucceeded = b('compensation.succeeded');
export const compensationFailed = b('compensation.failed');
export const consentGranted = b('consent.granted');
export const consentRevoked = b('consent.revoked');

/** The ids of events, for asserting evidence. */
export function ids(events: readonly ValidEvent[]): string[] {
  return events.map((e) => e.eventId);
}
