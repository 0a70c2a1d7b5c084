import { describe, expect, it } from 'vitest';
import { ALL_DETECTORS } from '../registry.ts';
import { EVENT_TYPES, type EventType } from '../core/events.ts';
import { validateEvent } from '../core/validate-event.ts';
import { runDetectors } from './run-detectors.ts';
import { T0 } from './event-builders.ts';

/** The smallest valid event of a type: only what the contract requires, no optional field at all. */
function minimal(type: EventType, n: number, extra: Record<string, unknown> = {}) {
  const e: Record<string, unknown> = {
    eventId: `m-${n}`,
    type,
    occurredAt: new Date(T0 + n * 1000).toISOString(),
    userId: 'u_1',
    agentId: 'a',
    agentVersion: '1',
  };
  if (!type.startsWith('consent.')) {
    e.intentId = 'i-1';
    e.action = { name: 'x', vendor: 'v', riskTier: 'low', stateChanging: false };
  }
  if (type === 'action.requested') e.attempt = 1;
  if (type === 'authz.checked') e.decision = 'allow';
  if (type === 'action.succeeded' || type === 'action.failed' || type === 'compensation.succeeded' || type === 'compensation.failed') e.outcome = { status: 'ok' };
  if (type.startsWith('compensation.')) e.compensation = { forEventId: 'e-0', kind: 'refund' };
  return validateEvent({ ...e, ...extra });
}

describe('events with only the fields the contract requires', () => {
  it('go through every detector without error, and raise only what they must', () => {
    const events = EVENT_TYPES.map((t, n) => minimal(t, n));
    const kinds = runDetectors(ALL_DETECTORS, events).findings.map((f) => f.kind).sort();
    // The request is answered by the outcomes (which carry no attempt: they answer any); the
    // compensation that failed is one compensation_failed.
    expect(kinds).toEqual(['compensation_failed']);
  });

  it('are judged on what they carry: no payloadHash, no scopes, no latency, no vendorRef, no attempt on outcomes', () => {
    const sc = { action: { name: 'x', vendor: 'v', riskTier: 'low', stateChanging: true } };
    const events = [
      minimal('action.requested', 1, { ...sc, idempotencyKey: 'k', requiredScope: 'w' }), // no scopes: not judged on scopes
      minimal('action.requested', 2, { ...sc, idempotencyKey: 'k', attempt: 2 }), // no payloadHash: no key reuse
      minimal('action.succeeded', 3, { ...sc, idempotencyKey: 'k' }), // no payloadHash: no duplicate check; no attempt: answers any
      minimal('action.succeeded', 4, { ...sc, idempotencyKey: 'k2' }),
      ...Array.from({ length: 25 }, (_, k) => minimal('action.failed', 10 + k, { intentId: `i-f${k}`, outcome: { status: 'timeout' } })),
    ];
    const findings = runDetectors(ALL_DETECTORS, events).findings;
    expect(findings.map((f) => f.kind).sort()).toEqual(['vendor_failure_rate']);
    expect(findings[0]!.metrics).toMatchObject({ failed: 18, total: 20, slow: 0 });
  });
});
