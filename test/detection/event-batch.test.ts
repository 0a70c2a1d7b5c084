import { describe, expect, it } from 'vitest';
import type { ValidEvent } from '../../processors/core/events.ts';
import { validateEvent } from '../../processors/core/validate-event.ts';
import { generateEvents } from '../../bench/gen-events.ts';
import type { EventBatch } from '../../src/detection/event-batch-layout.ts';
import { EventBatchReader } from '../../src/detection/event-batch-reader.ts';
import { EventBatchWriter } from '../../src/detection/event-batch-writer.ts';

/** Every field of ValidEvent (nested ones too), absent ones as undefined: what detectors can read. */
function fields(e: ValidEvent): Record<string, unknown> {
  const a = e.action;
  const o = e.outcome;
  const c = e.compensation;
  return {
    eventId: e.eventId,
    type: e.type,
    occurredAt: e.occurredAt,
    ts: e.ts,
    userId: e.userId,
    agentId: e.agentId,
    agentVersion: e.agentVersion,
    intentId: e.intentId,
    sessionId: e.sessionId,
    requestId: e.requestId,
    traceId: e.traceId,
    tenantId: e.tenantId,
    plan: e.plan,
    confidenceScore: e.confidenceScore,
    action: a && { name: a.name, vendor: a.vendor, riskTier: a.riskTier, stateChanging: a.stateChanging, amountMinor: a.amountMinor, currency: a.currency },
    idempotencyKey: e.idempotencyKey,
    payloadHash: e.payloadHash,
    attempt: e.attempt,
    decision: e.decision,
    scopes: e.scopes,
    requiredScope: e.requiredScope,
    outcome: o && { status: o.status, httpStatus: o.httpStatus, errorCode: o.errorCode, latencyMs: o.latencyMs, vendorRef: o.vendorRef },
    compensation: c && { forEventId: c.forEventId, kind: c.kind, reason: c.reason },
  };
}

/** Writes the events in batches of `size`, as one thread would, and reads them back, as the other. */
function roundTrip(events: ValidEvent[], size: number): ValidEvent[] {
  const writer = new EventBatchWriter(size);
  const reader = new EventBatchReader();
  const out: ValidEvent[] = [];
  const flush = () => {
    // The batch crosses threads by structured clone (its buffer transferred): do the same here.
    const batch = structuredClone(writer.take()) as EventBatch;
    reader.read(batch, (e) => out.push(e));
  };
  for (const e of events) {
    writer.add(e);
    if (writer.full) flush();
  }
  flush();
  return out;
}

const base = validateEvent(JSON.parse([...generateEvents({ events: 10, seed: 1, hours: 1 })][3]!));

describe('event batches', () => {
  it('carry every field of generated traffic, in order', () => {
    const events = [...generateEvents({ events: 20_000, seed: 11, hours: 2 })].map((l) => validateEvent(JSON.parse(l)));
    const back = roundTrip(events, 1000);
    expect(back.length).toBe(events.length);
    for (let i = 0; i < events.length; i++) expect(fields(back[i]!)).toEqual(fields(events[i]!));
  });

  it('carry odd values: absent and optional fields, unicode, numbers, every enumeration', () => {
    const events: ValidEvent[] = [
      { ...base, sessionId: undefined, requestId: undefined, traceId: undefined, plan: undefined } as ValidEvent,
      validateEvent({ eventId: 'c1', type: 'consent.revoked', occurredAt: '2026-11-20T10:00:00.000Z', userId: 'ü日本-😀', agentId: 'a', agentVersion: '' + 1 }),
      validateEvent({ ...JSON.parse(JSON.stringify(base)), ts: undefined, tenantId: 't', confidenceScore: 0, attempt: 7, scopes: [], decision: 'deny', requiredScope: 's"\\' }),
      validateEvent({
        ...JSON.parse(JSON.stringify(base)),
        type: 'compensation.failed',
        action: { name: 'n', vendor: 'v', riskTier: 'high', stateChanging: false, amountMinor: -0.5, currency: 'EUR' },
        outcome: { status: 'timeout', httpStatus: 504, errorCode: 'E', latencyMs: 1e9, vendorRef: 'R' },
        compensation: { forEventId: 'x', kind: 'release_hold', reason: '' },
      }),
      validateEvent({ ...JSON.parse(JSON.stringify(base)), scopes: ['a', 'b'], userId: 'u' }),
      validateEvent({ ...JSON.parse(JSON.stringify(base)), scopes: ['a', 'b'], userId: 'u' }),
    ];
    const back = roundTrip(events, 2);
    for (let i = 0; i < events.length; i++) expect(fields(back[i]!)).toEqual(fields(events[i]!));
    expect(Object.is(back[3]!.action!.amountMinor, -0.5)).toBe(true);
    // Each event gets its own scopes array, even when the dictionary holds the text.
    expect(back[5]!.scopes).not.toBe(back[4]!.scopes);
  });

  it('stay right when values crowd the dictionary slots', () => {
    // Many values of one field, revisited in an order that keeps evicting each other's slots.
    const ids = Array.from({ length: 20_000 }, (_, i) => `u_${i % 7919}${'x'.repeat(i % 5)}`);
    const events = ids.map((userId, i) => ({ ...base, eventId: `e${i}`, userId, intentId: ids[(i * 31) % ids.length] }) as ValidEvent);
    const back = roundTrip(events, 333);
    expect(back.map((e) => [e.eventId, e.userId, e.intentId])).toEqual(events.map((e) => [e.eventId, e.userId, e.intentId]));
  });
});
