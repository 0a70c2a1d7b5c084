import type { AgentEvent } from '../../processors/core/events.ts';
import type { AnomalyKind, Scope } from '../../processors/core/finding.ts';
import { agentById, CAB_BOOK, CART_ADD, FLIGHT_BOOK, FLIGHT_SEARCH, GIFT_FINDER, HOTEL_BOOK, ORDER_PLACE, PAYMENT_SEND, RESTAURANT_SEARCH, TABLE_RESERVE } from './catalog.ts';
import { vendorAnswer } from './traffic.ts';
import { IntentScript, type World } from './world.ts';

/**
 * Named trouble injected on top of normal traffic: one scenario per anomaly kind of the event
 * contract. Each raises findings of its kind on one scope (and nothing else), so a run with `all`
 * must find exactly these fifteen (kind, scope) pairs.
 */
export interface Scenario {
  name: string;
  kind: AnomalyKind;
  /** What happens, in one line (the CLI's --list-scenarios, the README). */
  story: string;
  /** Event time from its start to its last event. */
  spanMs: number;
  /** Writes its events from `at` on; returns the scope its findings will name. */
  inject(w: World, at: number): Scope;
}

/** A scenario as it was injected: what a finding should match. */
export interface InjectedScenario {
  scenario: string;
  kind: AnomalyKind;
  scope: Scope;
  /** Event time (ms) it started and ended. */
  at: number;
  until: number;
}

const agent = agentById;
const script = (w: World, at: number, userUntil: number, agentId: string, kind = FLIGHT_BOOK, opts: ConstructorParameters<typeof IntentScript>[5] = {}) =>
  new IntentScript(w, at, w.reserveUser(at, userUntil), agent(agentId), kind, opts);

/** A confirmed (and, for high risk, stepped-up and authorized) intent's steps up to its request. */
function upToRequest(s: IntentScript): void {
  s.parse();
  if (s.kind.riskTier !== 'low') s.confirm('confirmation.accepted');
  if (s.kind.riskTier === 'high') s.stepUp(true);
  s.authz('allow');
}

/** A call that goes through: request then success. */
function call(s: IntentScript, key: string | undefined, o: Parameters<IntentScript['request']>[2] = {}): AgentEvent {
  const req = s.request(1, key, o);
  return s.outcome(req, true, s.pause(150, 1200));
}

export const SCENARIOS: readonly Scenario[] = [
  {
    name: 'pii-leak',
    kind: 'unmasked_pii',
    story: "concierge logs a customer's e-mail address as the session id",
    spanMs: 3000,
    inject(w, at) {
      const s = script(w, at, at + 10_000, 'concierge', RESTAURANT_SEARCH, { sessionId: `jane.doe${w.rng.int(1000)}@example.com` });
      s.parse();
      s.authz('allow');
      call(s, undefined);
      return { type: 'agent', id: 'concierge' };
    },
  },
  {
    name: 'lost-responses',
    kind: 'orphaned_action',
    story: "dine-now's answers to two table reservations are lost: the requests never get an outcome",
    spanMs: 4000,
    inject(w, at) {
      for (let i = 0; i < 2; i++) {
        const s = script(w, at + i * 1500, at + 30_000, i === 0 ? 'food-orderer' : 'concierge', TABLE_RESERVE, { vendor: 'dine-now' });
        s.parse();
        s.authz('allow');
        s.request(1, s.newKey());
      }
      return { type: 'vendor', id: 'dine-now' };
    },
  },
  {
    name: 'vendor-outage',
    kind: 'vendor_failure_rate',
    story: 'city-cabs goes down for 45 s: every call fails (errors and 8 s time-outs)',
    spanMs: 45_000,
    inject(w, at) {
      w.addOutage('city-cabs', at, at + 45_000);
      for (let i = 0; i < 24; i++) {
        const s = script(w, at + i * 1250, at + 60_000, 'concierge', CAB_BOOK, { vendor: 'city-cabs' });
        upToRequest(s);
        const req = s.request(1, s.newKey());
        const a = vendorAnswer(w, 'city-cabs', s.t);
        s.outcome(req, a.ok, a.latency, { status: a.status, httpStatus: a.status === 'timeout' ? 504 : 503 });
      }
      return { type: 'vendor', id: 'city-cabs' };
    },
  },
  {
    name: 'rejected-confirmations',
    kind: 'confirmation_failure_spike',
    story: 'the new gift-finder agent proposes orders users do not want: 14 of 24 confirmations in 24 s rejected or expired',
    spanMs: 55_000,
    inject(w, at) {
      for (let i = 0; i < 24; i++) {
        const s = new IntentScript(w, at + i * 1000, w.reserveUser(at, at + 80_000), GIFT_FINDER, ORDER_PLACE, { vendor: 'mega-mart' });
        s.parse();
        const answer = i % 12 === 5 ? 'confirmation.expired' : i % 12 < 7 ? 'confirmation.rejected' : 'confirmation.accepted';
        s.confirm(answer);
        if (answer !== 'confirmation.accepted') continue;
        s.authz('allow');
        call(s, s.newKey());
      }
      return { type: 'agent', id: GIFT_FINDER.id };
    },
  },
  {
    name: 'retry-storm',
    kind: 'retry_spike',
    story: "travel-assistant fails to parse acme-air's search answers and asks again, and again: 40 retries in 25 s",
    spanMs: 32_000,
    inject(w, at) {
      for (let i = 0; i < 10; i++) {
        const s = script(w, at + i * 2500, at + 40_000, 'travel-assistant', FLIGHT_SEARCH, { vendor: 'acme-air' });
        s.parse();
        s.authz('allow');
        for (let attempt = 1; attempt <= 5; attempt++) {
          const req = s.request(attempt, undefined, { dt: attempt === 1 ? 50 : s.pause(250, 700) });
          s.outcome(req, true, s.pause(150, 600));
        }
      }
      return { type: 'agent', id: 'travel-assistant' };
    },
  },
  {
    name: 'runaway-agent',
    kind: 'runaway_agent',
    story: "shop-helper loops on one user's behalf: 24 items added to the cart in 36 s",
    spanMs: 37_000,
    inject(w, at) {
      const user = w.reserveUser(at, at + 60_000);
      for (let i = 0; i < 24; i++) {
        const s = new IntentScript(w, at + i * 1500, user, agent('shop-helper'), CART_ADD);
        s.parse();
        s.authz('allow');
        call(s, s.newKey());
      }
      return { type: 'user', id: user.id };
    },
  },
  {
    name: 'duplicate-booking',
    kind: 'duplicate_action',
    story: 'travel-assistant books the same flight twice under two idempotency keys (vigil cancels the second)',
    spanMs: 25_000,
    inject(w, at) {
      const s = script(w, at, at + 60_000, 'travel-assistant', FLIGHT_BOOK, { vendor: 'acme-air' });
      upToRequest(s);
      call(s, s.newKey());
      s.t += 3000;
      call(s, s.newKey());
      return { type: 'user', id: s.base.userId };
    },
  },
  {
    name: 'key-reuse',
    kind: 'idempotency_key_reuse',
    story: "shop-helper sends a second order under the first order's idempotency key, with another payload",
    spanMs: 25_000,
    inject(w, at) {
      const first = script(w, at, at + 60_000, 'shop-helper', ORDER_PLACE, { vendor: 'mega-mart' });
      upToRequest(first);
      const key = first.newKey();
      call(first, key);
      const user = w.users.find((u) => u.id === first.base.userId)!;
      const second = new IntentScript(w, first.t + 2000, user, agent('shop-helper'), ORDER_PLACE, { vendor: 'mega-mart' });
      upToRequest(second);
      call(second, key);
      return { type: 'agent', id: 'shop-helper' };
    },
  },
  {
    name: 'consent-revoked',
    kind: 'action_after_consent_revoked',
    story: 'a user revokes consent; food-orderer places their order anyway 3 s later (vigil cancels it)',
    spanMs: 15_000,
    inject(w, at) {
      const s = script(w, at, at + 120_000, 'food-orderer', ORDER_PLACE, { vendor: 'quick-eats' });
      s.parse();
      s.confirm('confirmation.accepted');
      s.emit('consent.revoked', { intentId: undefined, action: undefined, sessionId: undefined, requestId: undefined }, 1000);
      s.authz('allow');
      call(s, s.newKey(), { dt: 3000 });
      const user = s.base.userId;
      w.schedule(at + 100_000, { eventId: w.rng.uuid(), type: 'consent.granted', occurredAt: '', userId: user, agentId: s.base.agentId, agentVersion: s.base.agentVersion, traceId: w.rng.hex(32) });
      return { type: 'user', id: user };
    },
  },
  {
    name: 'refund-refused',
    kind: 'compensation_failed',
    story: 'a user cancels a hotel booking and globe-hotels refuses (409 NON_REFUNDABLE)',
    spanMs: 25_000,
    inject(w, at) {
      const s = script(w, at, at + 60_000, 'travel-assistant', HOTEL_BOOK, { vendor: 'globe-hotels' });
      upToRequest(s);
      const booked = call(s, s.newKey());
      s.compensate(booked, 'compensation.failed', 4000, 'the user cancelled');
      return { type: 'vendor', id: 'globe-hotels' };
    },
  },
  {
    name: 'unconfirmed-payment',
    kind: 'unconfirmed_action',
    story: 'billing-bot sends a payment the user never confirmed (vigil cancels it)',
    spanMs: 15_000,
    inject(w, at) {
      const s = script(w, at, at + 60_000, 'billing-bot', PAYMENT_SEND);
      s.parse();
      s.stepUp(true);
      s.authz('allow');
      call(s, s.newKey());
      return { type: 'agent', id: 'billing-bot' };
    },
  },
  {
    name: 'payload-mismatch',
    kind: 'confirmation_mismatch',
    story: 'concierge books another hotel than the one the user confirmed (vigil cancels it)',
    spanMs: 15_000,
    inject(w, at) {
      const s = script(w, at, at + 60_000, 'concierge', HOTEL_BOOK, { vendor: 'globe-hotels' });
      upToRequest(s);
      call(s, s.newKey(), { payloadHash: w.payloadHash() });
      return { type: 'agent', id: 'concierge' };
    },
  },
  {
    name: 'skipped-step-up',
    kind: 'missing_step_up',
    story: 'travel-assistant books a flight without the step-up authentication high risk needs',
    spanMs: 15_000,
    inject(w, at) {
      const s = script(w, at, at + 60_000, 'travel-assistant', FLIGHT_BOOK, { vendor: 'sky-jet' });
      s.parse();
      s.confirm('confirmation.accepted');
      s.authz('allow');
      call(s, s.newKey());
      return { type: 'agent', id: 'travel-assistant' };
    },
  },
  {
    name: 'scope-escalation',
    kind: 'scope_violation',
    story: "billing-bot sends a payment with a token that only reads invoices (payments:write missing)",
    spanMs: 25_000,
    inject(w, at) {
      const s = script(w, at, at + 60_000, 'billing-bot', PAYMENT_SEND);
      const scopes = ['invoices:read', 'profile:read'];
      s.parse();
      s.confirm('confirmation.accepted');
      s.stepUp(true);
      call(s, s.newKey(), { scopes });
      return { type: 'agent', id: 'billing-bot' };
    },
  },
  {
    name: 'missing-key',
    kind: 'missing_idempotency_key',
    story: 'food-orderer places an order without an idempotency key',
    spanMs: 12_000,
    inject(w, at) {
      const s = script(w, at, at + 60_000, 'food-orderer', ORDER_PLACE, { vendor: 'quick-eats' });
      upToRequest(s);
      call(s, undefined);
      return { type: 'agent', id: 'food-orderer' };
    },
  },
];

export const SCENARIO_NAMES = SCENARIOS.map((s) => s.name);

/** The scenarios a `--scenario` value names (comma-separated names, or `all`); throws naming an unknown one. */
export function scenariosNamed(value: string): Scenario[] {
  const names = value.split(',').map((s) => s.trim()).filter(Boolean);
  if (names.includes('all')) return [...SCENARIOS];
  return names.map((n) => {
    const s = SCENARIOS.find((x) => x.name === n);
    if (!s) throw new Error(`unknown scenario "${n}": one of ${SCENARIO_NAMES.join(', ')}, or all`);
    return s;
  });
}
