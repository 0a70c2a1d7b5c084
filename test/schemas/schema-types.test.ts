import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import avro from 'avsc';
import type { AgentEvent } from '../../processors/core/events.ts';
import { EVENT_TYPES, RISK_TIERS, OUTCOME_STATUSES, COMPENSATION_KINDS } from '../../processors/core/events.ts';
import type { Finding } from '../../processors/core/finding.ts';
import { ANOMALY_KINDS, SCOPE_TYPES, SEVERITIES } from '../../processors/core/finding.ts';
import { avroSchema } from '../../src/kafka/schemas.ts';

/**
 * The TypeScript types and the Avro schemas must describe the same records. `Required<…>` makes the
 * compiler (npm test runs tsc first) reject these literals when the TS type gains a field they lack; the
 * key comparisons below fail when the schema gains or loses one.
 */
const fullEvent: Required<AgentEvent> = {
  eventId: 'e1',
  type: 'action.succeeded',
  occurredAt: '2026-11-20T10:00:00.000Z',
  userId: 'u_1',
  agentId: 'travel-assistant',
  agentVersion: '2.3.1',
  intentId: 'i-1',
  sessionId: 's-1',
  requestId: 'r-1',
  traceId: '0123456789abcdef0123456789abcdef',
  tenantId: 't-1',
  plan: 'paid',
  confidenceScore: 0.9,
  action: { name: 'flight.book', vendor: 'acme-air', riskTier: 'high', stateChanging: true, amountMinor: 100, currency: 'USD' },
  idempotencyKey: 'idk-1',
  payloadHash: 'sha256:ab',
  attempt: 1,
  decision: 'allow',
  scopes: ['flights:write'],
  requiredScope: 'flights:write',
  outcome: { status: 'ok', httpStatus: 200, errorCode: 'E1', latencyMs: 12.5, vendorRef: 'PNR1' },
  compensation: { forEventId: 'e0', kind: 'refund', reason: 'duplicate' },
};
const fullAction: Required<NonNullable<AgentEvent['action']>> = { ...fullEvent.action } as Required<NonNullable<AgentEvent['action']>>;
const fullOutcome: Required<NonNullable<AgentEvent['outcome']>> = { ...fullEvent.outcome } as Required<NonNullable<AgentEvent['outcome']>>;
const fullCompensation: Required<NonNullable<AgentEvent['compensation']>> = { ...fullEvent.compensation } as Required<NonNullable<AgentEvent['compensation']>>;

const fullFinding: Required<Finding> = {
  findingId: 'f_1',
  kind: 'duplicate_action',
  severity: 'critical',
  scope: { type: 'user', id: 'u_1' },
  detectedAt: '2026-11-20T10:00:00.000Z',
  eventIds: ['e1', 'e2'],
  ruleId: 'duplicate_action',
  policyVersion: 'p-1',
  shadow: false,
  summary: 'two bookings',
  traceIds: ['0123456789abcdef0123456789abcdef'],
  metrics: { observed: 2, threshold: 2 },
  subjects: { agents: ['travel-assistant'], users: ['u_1'] },
  target: { eventId: 'e2', action: 'flight.book', vendor: 'acme-air' },
};

type Field = { name: string; type: unknown };
const fieldsOf = (schema: unknown): Field[] => (schema as { fields: Field[] }).fields;
const names = (schema: unknown) => fieldsOf(schema).map((f) => f.name).sort();
/** The record inside a ["null", record] union field. */
const nested = (schema: unknown, field: string): unknown => {
  const t = fieldsOf(schema).find((f) => f.name === field)!.type;
  return Array.isArray(t) ? t.find((x) => typeof x === 'object') : t;
};
const enumSymbols = (schema: unknown, field: string): string[] => {
  const t = nested(schema, field) as { symbols: string[] };
  return t.symbols;
};

describe('Avro schemas match the TypeScript types', () => {
  const eventSchema = avroSchema('agent-action');
  const findingSchema = avroSchema('finding');

  it('agent-action.avsc has exactly the fields of AgentEvent, nested records included', () => {
    expect(names(eventSchema)).toEqual(Object.keys(fullEvent).sort());
    expect(names(nested(eventSchema, 'action'))).toEqual(Object.keys(fullAction).sort());
    expect(names(nested(eventSchema, 'outcome'))).toEqual(Object.keys(fullOutcome).sort());
    expect(names(nested(eventSchema, 'compensation'))).toEqual(Object.keys(fullCompensation).sort());
    expect(enumSymbols(nested(eventSchema, 'action'), 'riskTier')).toEqual([...RISK_TIERS]);
    expect(enumSymbols(nested(eventSchema, 'outcome'), 'status')).toEqual([...OUTCOME_STATUSES]);
    expect(enumSymbols(nested(eventSchema, 'compensation'), 'kind')).toEqual([...COMPENSATION_KINDS]);
    expect(enumSymbols(eventSchema, 'decision')).toEqual(['allow', 'deny']);
  });

  it('a fully populated event round-trips through the Avro type unchanged', () => {
    const type = avro.Type.forSchema(eventSchema as avro.Schema);
    expect(type.isValid(fullEvent)).toBe(true);
    expect(type.fromBuffer(type.toBuffer(fullEvent))).toEqual(fullEvent);
  });

  it('every event of samples/normal-traffic.jsonl, and every event type, encodes', () => {
    const type = avro.Type.forSchema(eventSchema as avro.Schema);
    const lines = readFileSync(new URL('../../samples/normal-traffic.jsonl', import.meta.url), 'utf8').split('\n').filter(Boolean);
    for (const line of lines) {
      const e = JSON.parse(line) as Record<string, unknown>;
      const withNulls = Object.fromEntries(names(eventSchema).map((n) => [n, e[n] ?? null]));
      expect(type.isValid(withNulls, { errorHook: (p) => { throw new Error(`sample event field ${p.join('.')} does not fit the schema`); } })).toBe(true);
    }
    for (const t of EVENT_TYPES) expect(type.isValid({ ...fullEvent, type: t })).toBe(true);
  });

  it('finding.avsc has exactly the fields of Finding and its enums', () => {
    expect(names(findingSchema)).toEqual(Object.keys(fullFinding).sort());
    expect(enumSymbols(findingSchema, 'kind')).toEqual([...ANOMALY_KINDS]);
    expect(enumSymbols(findingSchema, 'severity')).toEqual([...SEVERITIES]);
    expect(enumSymbols(nested(findingSchema, 'scope'), 'type')).toEqual([...SCOPE_TYPES]);
    const type = avro.Type.forSchema(findingSchema as avro.Schema);
    expect(type.fromBuffer(type.toBuffer(fullFinding))).toEqual(fullFinding);
  });
});
