import fc from 'fast-check';
import { COMPENSATION_KINDS, EVENT_TYPES, OUTCOME_STATUSES, RISK_TIERS } from '../../processors/core/events.ts';

/**
 * Generators of hostile input for the bad-input suite: strings with Unicode edge cases, dates that are
 * almost right or far off, deep nesting, and mutations of valid events.
 */

/** Characters that break naive code: NUL, lone surrogates, RTL override, combining marks, BOM, separators. */
export const EDGE_CHARS = ['\u0000', '\ud800', '\udfff', '\udbff\u0041', '\u202e', '\u200f', 'e\u0301', '\u0301', '\ufeff', '\u2028', '\u2029', '\uffff', '😀', '\\', '"', '\n', '\r', '\t', '%', '%00', '../', ':', '{', '}', '*', '?'];

/** A string made of ordinary text and edge characters. */
export const hostileString = (maxLength = 40): fc.Arbitrary<string> =>
  fc.oneof(
    { weight: 3, arbitrary: fc.array(fc.oneof(fc.constantFrom(...EDGE_CHARS), fc.string({ unit: 'binary', maxLength: 4 })), { maxLength }).map((xs) => xs.join('')) },
    { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength }) },
    { weight: 1, arbitrary: fc.string({ unit: 'grapheme-ascii', maxLength }) },
  );

/** A huge string (up to `max` characters), repetitive so it is cheap to make. */
export const hugeString = (max: number): fc.Arbitrary<string> =>
  fc.tuple(fc.constantFrom('x', 'é', '\u0000', '😀', '\ud800', ' '), fc.integer({ min: 1000, max })).map(([c, n]) => c.repeat(Math.ceil(n / c.length)));

const pad = (n: number, w: number) => String(n).padStart(w, '0');

/** occurredAt values: valid, invalid, hostile (far past or future), malformed, wrong types. */
export const hostileDate: fc.Arbitrary<unknown> = fc.oneof(
  fc.date({ min: new Date('1970-01-01T00:00:00.000Z'), max: new Date('2100-01-01T00:00:00.000Z'), noInvalidDate: true }).map((d) => d.toISOString()),
  // the right shape, any digits: month 13, day 31 of a 30-day month, 24:00, leap seconds…
  fc.tuple(fc.integer({ min: 0, max: 9999 }), fc.integer({ min: 0, max: 99 }), fc.integer({ min: 0, max: 99 }), fc.integer({ min: 0, max: 99 }), fc.integer({ min: 0, max: 99 }), fc.integer({ min: 0, max: 99 }), fc.integer({ min: 0, max: 999 }))
    .map(([y, mo, d, h, mi, s, ms]) => `${pad(y, 4)}-${pad(mo, 2)}-${pad(d, 2)}T${pad(h, 2)}:${pad(mi, 2)}:${pad(s, 2)}.${pad(ms, 3)}Z`),
  fc.constantFrom(
    '0000-01-01T00:00:00.000Z', '9999-12-31T23:59:59.999Z', '+275760-09-13T00:00:00.000Z', '-000001-01-01T00:00:00.000Z',
    '2026-02-29T00:00:00.000Z', '2026-02-30T00:00:00.000Z', '2024-02-29T12:00:00.000Z', '2026-04-31T00:00:00.000Z', '2026-11-20T24:00:00.000Z',
    '2026-12-31T23:59:60.000Z', '2026-11-20T10:00:00Z', '2026-11-20T10:00:00.000+01:00', '2026-11-20t10:00:00.000z', '2026-11-20 10:00:00.000Z',
    ' 2026-11-20T10:00:00.000Z', '2026-11-20T10:00:00.000Z\u0000', '２０２６-11-20T10:00:00.000Z', '', 'now', 'NaN', '1e999',
  ),
  fc.oneof(fc.integer(), fc.double(), fc.constant(null), fc.boolean(), fc.constant([]), fc.constant({})),
  hostileString(30),
);

/** A valid event of any type (the contract's required fields for its type present). */
export const validEvent: fc.Arbitrary<Record<string, unknown>> = fc
  .record({
    type: fc.constantFrom(...EVENT_TYPES),
    ms: fc.integer({ min: Date.parse('2026-01-01T00:00:00.000Z'), max: Date.parse('2026-12-31T00:00:00.000Z') }),
    n: fc.nat(),
    user: fc.constantFrom('u_1', 'u_2', 'u_ü', 'u\u202e3'),
    agent: fc.constantFrom('shop-helper', 'travel-assistant'),
    vendor: fc.constantFrom('acme-air', 'globex'),
    risk: fc.constantFrom(...RISK_TIERS),
    status: fc.constantFrom(...OUTCOME_STATUSES),
    kind: fc.constantFrom(...COMPENSATION_KINDS),
    attempt: fc.integer({ min: 1, max: 5 }),
    decision: fc.constantFrom('allow', 'deny'),
  })
  .map((r) => {
    const e: Record<string, unknown> = {
      eventId: `fz-${r.n}-${r.ms}`,
      type: r.type,
      occurredAt: new Date(r.ms).toISOString(),
      userId: r.user,
      agentId: r.agent,
      agentVersion: '1.0.0',
      intentId: `i-${r.n}`,
      action: { name: 'flight.book', vendor: r.vendor, riskTier: r.risk, stateChanging: r.risk !== 'low', amountMinor: 1000, currency: 'EUR' },
      attempt: r.attempt,
    };
    if (r.type === 'authz.checked') e.decision = r.decision;
    if (r.type === 'action.succeeded' || r.type === 'action.failed' || r.type.startsWith('compensation.')) e.outcome = { status: r.status, httpStatus: 200, latencyMs: 12.5 };
    if (r.type.startsWith('compensation.')) e.compensation = { forEventId: `fz-${r.n}-0`, kind: r.kind, reason: 'duplicate' };
    return e;
  });

/** A value of any JSON shape, hostile strings included. */
export const anyJson: fc.Arbitrary<unknown> = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  hostileString(20),
  fc.constantFrom(Number.MAX_SAFE_INTEGER + 2, -0, 1e308, -1e308, 0.1, -1),
);

/** A path into an event (for a mutation). */
const FIELDS = ['eventId', 'type', 'occurredAt', 'userId', 'agentId', 'agentVersion', 'intentId', 'sessionId', 'traceId', 'plan', 'confidenceScore', 'idempotencyKey', 'payloadHash', 'attempt', 'decision', 'scopes', 'requiredScope', 'action', 'action.name', 'action.vendor', 'action.riskTier', 'action.stateChanging', 'action.amountMinor', 'action.currency', 'outcome', 'outcome.status', 'outcome.httpStatus', 'outcome.latencyMs', 'compensation', 'compensation.kind', 'compensation.forEventId', '__proto__', 'constructor', 'toString', 'ts'];

export type Mutation = { path: string; op: 'set' | 'delete'; value?: unknown };

export const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ path: fc.constantFrom(...FIELDS), op: fc.constant<'set'>('set'), value: anyJson }),
  fc.record({ path: fc.constant('occurredAt'), op: fc.constant<'set'>('set'), value: hostileDate }),
  fc.record({ path: fc.constantFrom(...FIELDS), op: fc.constant<'delete'>('delete') }),
  fc.record({ path: fc.constantFrom('eventId', 'userId', 'agentId', 'intentId', 'action.vendor', 'outcome.errorCode'), op: fc.constant<'set'>('set'), value: hostileString(60) }),
);

/** Applies mutations to a copy of an event (JSON-level: paths through objects, made when missing). */
export function mutate(event: Record<string, unknown>, ms: readonly Mutation[]): Record<string, unknown> {
  const e = structuredClone(event);
  for (const m of ms) {
    const parts = m.path.split('.');
    let o: Record<string, unknown> = e;
    for (const p of parts.slice(0, -1)) {
      if (typeof o[p] !== 'object' || o[p] === null || Array.isArray(o[p])) o[p] = {};
      o = o[p] as Record<string, unknown>;
    }
    const last = parts.at(-1)!;
    if (m.op === 'delete') delete o[last];
    else Object.defineProperty(o, last, { value: m.value, enumerable: true, writable: true, configurable: true });
  }
  return e;
}

/** JSON text nested `depth` levels deep (arrays or objects), inside an otherwise valid event. */
export const deepNesting: fc.Arbitrary<string> = fc
  .tuple(fc.integer({ min: 100, max: 20_000 }), fc.constantFrom('[', '{"a":'), fc.constantFrom('eventId', 'action', 'scopes', 'extra'))
  .map(([depth, open, field]) => {
    const close = open === '[' ? ']' : '}';
    const inner = `${open.repeat(depth)}1${close.repeat(depth)}`;
    return `{"eventId":"deep","type":"intent.parsed","occurredAt":"2026-11-20T10:00:00.000Z","userId":"u","agentId":"a","agentVersion":"1","intentId":"i","action":{"name":"n","vendor":"v","riskTier":"low","stateChanging":false},"${field}":${inner}}`;
  });
