import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ALL_DETECTORS } from '../registry.ts';
import type { EventType, ValidEvent } from '../core/events.ts';
import type { Finding } from '../core/finding.ts';
import { event, resetEventIds } from './event-builders.ts';
import { runDetectors, shuffleWithinLateness, stable } from './run-detectors.ts';
import { replayAll } from '../engine/replay-engine.ts';
import { createRuleSet } from '../engine/rule-set.ts';
import { randomMerge, runInOrder } from './backlog-interleave.ts';
import { mulberry32 } from './run-detectors.ts';
import { longOr } from '../../test/helpers/long-runs.ts';

const TYPES: EventType[] = [
  'confirmation.requested', 'confirmation.accepted', 'confirmation.rejected', 'confirmation.expired',
  'stepup.passed', 'authz.checked', 'action.requested', 'action.requested', 'action.requested',
  'action.succeeded', 'action.succeeded', 'action.failed', 'compensation.requested',
  'compensation.succeeded', 'compensation.failed', 'consent.granted', 'consent.revoked',
];

/** One random event on a small set of users, intents, keys and payloads, so that they collide. */
const arbEvent = fc.record({
  type: fc.constantFrom(...TYPES),
  at: fc.integer({ min: 0, max: 900 }),
  user: fc.constantFrom('u_1', 'u_2'),
  intent: fc.constantFrom('i-1', 'i-2', 'i-3'),
  key: fc.constantFrom('idk-1', 'idk-2', undefined),
  hash: fc.constantFrom('sha256:a', 'sha256:b'),
  ref: fc.constantFrom('VR1', 'VR2', undefined),
  attempt: fc.integer({ min: 1, max: 7 }),
  risk: fc.constantFrom('low', 'medium', 'high'),
  deny: fc.boolean(),
  scoped: fc.boolean(),
  pii: fc.constantFrom(undefined, 'jane@example.com'),
  slow: fc.boolean(),
});

type Gen = typeof arbEvent extends fc.Arbitrary<infer T> ? T : never;

/** Events from generated records; `scale` stretches time (1: 90 s in all, 200: 5 h, past every memory). */
function build(xs: Gen[], scale = 1): ValidEvent[] {
  resetEventIds();
  return xs.map((x) =>
    event(x.type, {
      at: (x.at / 10) * scale,
      userId: x.user,
      intentId: x.type.startsWith('consent.') ? undefined : x.intent,
      idempotencyKey: x.type.startsWith('action.') ? x.key : undefined,
      payloadHash: x.type.startsWith('action.') || x.type.startsWith('confirmation.') ? x.hash : undefined,
      attempt: x.type.startsWith('action.') ? x.attempt : undefined,
      action: { riskTier: x.risk as 'low' },
      decision: x.type === 'authz.checked' ? (x.deny ? 'deny' : 'allow') : undefined,
      scopes: x.type === 'action.requested' ? (x.scoped ? ['flight:book'] : ['profile:read']) : undefined,
      requiredScope: x.type === 'action.requested' ? 'flight:book' : undefined,
      sessionId: x.pii,
      outcome: x.type.startsWith('action.s') || x.type.startsWith('action.f') || x.type.startsWith('compensation.s') || x.type.startsWith('compensation.f')
        ? { status: x.type.endsWith('failed') ? 'error' : 'ok', latencyMs: x.slow ? 6000 : 100, vendorRef: x.ref }
        : undefined,
    }),
  );
}

const params = { retry_spike: { maxRetries: 4 }, vendor_failure_rate: { minOutcomes: 4 }, confirmation_failure_spike: { minRequested: 4 }, runaway_agent: { maxActions: 4 } };

describe('every detector, on random colliding traffic', () => {
  it('is traffic that raises most kinds (so the property below is not vacuous)', () => {
    const kinds = new Set<string>();
    for (const xs of fc.sample(fc.array(arbEvent, { minLength: 30, maxLength: 60 }), { numRuns: 100, seed: 7 })) {
      for (const f of runDetectors(ALL_DETECTORS, build(xs).sort((a, b) => a.ts - b.ts), { params }).findings) kinds.add(f.kind);
    }
    expect(kinds.size).toBeGreaterThanOrEqual(13);
  });

  it('gives the same findings, ids included, in any arrival order within the lateness', () => {
    fc.assert(
      fc.property(fc.array(arbEvent, { minLength: 1, maxLength: 60 }), fc.integer({ min: 1, max: 1e6 }), fc.constantFrom(1, 10, 200), (xs, seed, scale) => {
        const events = build(xs, scale).sort((a, b) => a.ts - b.ts);
        const base = stable(runDetectors(ALL_DETECTORS, events, { params }).findings);
        expect(stable(runDetectors(ALL_DETECTORS, shuffleWithinLateness(events, 5000, seed), { params }).findings)).toEqual(base);
      }),
      { numRuns: 150 },
    );
  });

  it('gives the same findings in the replay engine, shuffled and with redeliveries at any later time', () => {
    // A redelivery is ignored by a detector while its slice holds the event; later than that, the
    // engine's eventId dedupe (which spans the longest window) ignores it.
    const rules = createRuleSet({ detectors: ALL_DETECTORS, rules: Object.fromEntries(Object.entries(params).map(([k, p]) => [k, { params: p }])) });
    fc.assert(
      fc.property(fc.array(arbEvent, { minLength: 1, maxLength: 60 }), fc.integer({ min: 1, max: 1e6 }), fc.constantFrom(1, 10, 200), (xs, seed, scale) => {
        const events = build(xs, scale).sort((a, b) => a.ts - b.ts);
        const base = runDetectors(ALL_DETECTORS, events, { params }).findings.map((f) => `${f.findingId} ${f.summary}`).sort();
        const shuffled = shuffleWithinLateness(events, 5000, seed, Math.ceil(events.length / 4));
        expect(replayAll(ALL_DETECTORS, shuffled, rules).map((f) => `${f.findingId} ${f.summary}`).sort()).toEqual(base);
      }),
      { numRuns: 100 },
    );
  });
});

describe('every detector, with partitions consumed far apart in event time', () => {
  // Live, input is keyed by userId: agent- and vendor-scoped slices hear from several partitions, and
  // with a backlog those arrive hours apart in event time, yet none behind the watermark (the lowest
  // partition's newest − lateness). The findings must be those of the same events in time order.
  const rules = createRuleSet({ detectors: ALL_DETECTORS, rules: Object.fromEntries(Object.entries(params).map(([k, p]) => [k, { params: p }])) });
  const USERS = ['u_1', 'u_2', 'u_3'];
  const arb = fc.array(fc.record({ x: arbEvent, user: fc.constantFrom(...USERS), agent: fc.constantFrom('travel-assistant', 'shop-helper') }), { minLength: 1, maxLength: 80 });

  it('gives the same findings, ids included, as time order, whatever the interleaving of partitions', () => {
    fc.assert(
      fc.property(arb, fc.integer({ min: 1, max: 1e6 }), fc.constantFrom(10, 200, 2000), fc.constantFrom(1, 5, 40), (xs, seed, scale, maxRun) => {
        const events = build(xs.map((r) => ({ ...r.x, user: r.user as Gen['user'] })), scale).map((e, i) => ({ ...e, agentId: xs[i]!.agent }));
        const ordered = [...events].sort((a, b) => a.ts - b.ts);
        // Ids (kind, scope, evidence) and detection time; not summaries, which name the last agent of a
        // user's slice, and a user's events of the same instant from two agents may swap (within the lateness).
        const key = (f: Finding) => `${f.findingId} ${f.detectedAt}`;
        const base = runInOrder(ALL_DETECTORS, rules, ordered.map((e) => ({ e }))).map(key).sort();
        const rnd = mulberry32(seed);
        const parts = USERS.map((u, p) => shuffleWithinLateness(ordered.filter((e) => e.userId === u), 5000, seed + p));
        const live = runInOrder(ALL_DETECTORS, rules, randomMerge(parts, rnd, maxRun), USERS.length);
        expect(live.map(key).sort()).toEqual(base);
      }),
      { numRuns: longOr(1000, 20000) },
    );
  });
});
