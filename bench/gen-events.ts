import { createWriteStream, existsSync, mkdirSync, renameSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { ValidEvent } from '../processors/core/events.ts';
import { validateEvent } from '../processors/core/validate-event.ts';
import { MinHeap } from '../processors/engine/min-heap.ts';

/**
 * Synthetic agent traffic for benchmarks, deterministic from a seed: many users, agents, vendors and
 * intents shaped like samples/normal-traffic.jsonl (parse → confirm → step-up → authz →
 * request → outcome, retries after failures), in event-time order with a little out-of-order jitter
 * (within the lateness), plus a sprinkle of every anomaly kind (single-intent ones at random, bursts
 * every 6 h of event time) and of redelivered events.
 *
 *   node bench/gen-events.ts [--events N] [--seed S] [--hours H] [--out FILE]
 */

/** Bumped whenever the traffic's shape changes, so a cached file is never stale. */
export const GENERATOR_VERSION = 3;

export interface GenOptions {
  events: number;
  seed: number;
  /** Event-time span of the traffic (default 96 h, so 24 h windows fill and then stay flat). */
  hours: number;
}

/**
 * An anomaly the generator injected on purpose (what a finding should match), as `generateEvents`
 * reports it. `intentId` for the single-intent kinds; `scope` for the bursts and consent revocations.
 */
export interface InjectedAnomaly {
  kind: string;
  /** Event time (ms) around which it happens. */
  at: number;
  intentId?: string;
  scope?: { type: 'agent' | 'user' | 'vendor'; id: string };
}

/** The anomaly each `anomaly` number of a single intent injects, when the intent's shape allows it. */
const SINGLE_INTENT_KINDS = [
  'unmasked_pii',
  'unconfirmed_action',
  'missing_step_up',
  'scope_violation',
  'missing_idempotency_key',
  'confirmation_mismatch',
  'retry_spike',
  'orphaned_action',
  'duplicate_action',
  'compensation_failed',
  'idempotency_key_reuse',
];

const AGENTS = [
  ['travel-assistant', '2.3.1'],
  ['shop-helper', '4.0.2'],
  ['food-orderer', '1.8.0'],
  ['concierge', '0.9.4'],
  ['billing-bot', '3.1.0'],
] as const;
const VENDORS = ['acme-air', 'globe-hotels', 'city-cabs', 'quick-eats', 'mega-mart', 'rail-one', 'pay-fast'];
const ACTIONS = [
  { name: 'cart.add', riskTier: 'low', scope: 'cart:write', w: 30 },
  { name: 'table.reserve', riskTier: 'low', scope: 'booking:write', w: 20 },
  { name: 'order.place', riskTier: 'medium', scope: 'orders:write', w: 20 },
  { name: 'hotel.book', riskTier: 'medium', scope: 'booking:write', w: 15 },
  { name: 'flight.book', riskTier: 'high', scope: 'booking:write', w: 10 },
  { name: 'payment.send', riskTier: 'high', scope: 'payments:write', w: 5 },
] as const;
const PLANS = ['free', 'paid', 'enterprise'];
const USERS = 50_000;

/** mulberry32: a tiny seeded PRNG, good enough for traffic shapes. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Ev = Record<string, unknown> & { occurredAt?: string };

/**
 * Streams `opts.events` events as JSON Lines. `onInjected`, when given, hears of every anomaly injected
 * on purpose (it draws no random numbers, so the traffic is the same with or without it); an anomaly
 * whose events fall past the `opts.events` cut may be reported without being in the output.
 */
export function* generateEvents(opts: GenOptions, onInjected?: (a: InjectedAnomaly) => void): Generator<string> {
  const rnd = prng(opts.seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const hex = (n: number) => {
    let s = '';
    for (let i = 0; i < n; i++) s += '0123456789abcdef'[Math.floor(rnd() * 16)];
    return s;
  };
  const uuid = () => `${hex(8)}-${hex(4)}-4${hex(3)}-a${hex(3)}-${hex(12)}`;
  const totalWeight = ACTIONS.reduce((s, a) => s + a.w, 0);
  const pickAction = () => {
    let r = rnd() * totalWeight;
    for (const a of ACTIONS) if ((r -= a.w) < 0) return a;
    return ACTIONS[0];
  };

  const start = Date.parse('2026-11-20T00:00:00.000Z');
  const spanMs = opts.hours * 3_600_000;
  const intents = Math.ceil(opts.events / 6.2);
  const gap = spanMs / intents;
  const queue = new MinHeap<Ev>();
  let emitted = 0;
  let t = start;

  function* flush(upTo: number): Generator<string> {
    while (queue.size > 0 && queue.peekPriority() <= upTo && emitted < opts.events) {
      const at = queue.peekPriority();
      const e = queue.pop()!;
      e.occurredAt = new Date(at).toISOString();
      const line = JSON.stringify(e);
      emitted++;
      yield line;
      if (rnd() < 0.001 && emitted < opts.events) {
        emitted++;
        yield line; // a redelivery: same eventId
      }
    }
  }

  // Every 6 h of event time, bursts that no single intent makes: a vendor outage, a wave of rejected
  // confirmations for one agent, and an agent running away with one user's account.
  let nextBurst = start + 3 * 3_600_000;
  const burst = (at: number) => {
    const n = Math.round((at - start) / 3_600_000);
    const vendor = VENDORS[n % VENDORS.length]!;
    const [agentId, agentVersion] = AGENTS[n % AGENTS.length]!;
    const who = (i: number) => ({ userId: `u_${String((n * 97 + i * 13) % USERS).padStart(5, '0')}`, agentId, agentVersion, sessionId: `s-${uuid()}`, plan: 'paid' });
    const action = { name: 'order.place', vendor, riskTier: 'medium', stateChanging: true, amountMinor: 4200, currency: 'USD' };
    onInjected?.({ kind: 'vendor_failure_rate', at, scope: { type: 'vendor', id: vendor } });
    onInjected?.({ kind: 'confirmation_failure_spike', at: at + 120_000, scope: { type: 'agent', id: agentId } });
    onInjected?.({ kind: 'runaway_agent', at: at + 600_000, scope: { type: 'user', id: `u_${String((n * 97 + 200 * 13) % USERS).padStart(5, '0')}` } });
    for (let i = 0; i < 30; i++) {
      const base = { ...who(i), intentId: `i-${uuid()}`, action };
      const req = { payloadHash: `sha256:${hex(64)}`, attempt: 1, idempotencyKey: `idk-${uuid()}`, scopes: ['orders:write'], requiredScope: 'orders:write' };
      const t0 = at + i * 1500;
      queue.push(t0 - 4000, { eventId: uuid(), ...base, type: 'confirmation.accepted', payloadHash: req.payloadHash });
      queue.push(t0, { eventId: uuid(), ...base, type: 'action.requested', ...req });
      const failed = i % 10 < 7;
      queue.push(t0 + 900, { eventId: uuid(), ...base, type: failed ? 'action.failed' : 'action.succeeded', ...req, outcome: failed ? { status: 'error', httpStatus: 502, latencyMs: 900 } : { status: 'ok', httpStatus: 200, latencyMs: 700, vendorRef: `VR${hex(8).toUpperCase()}` } });
    }
    for (let i = 0; i < 40; i++) {
      const base = { ...who(100 + i), intentId: `i-${uuid()}`, action };
      const payloadHash = `sha256:${hex(64)}`;
      const t0 = at + 120_000 + i * 5000;
      queue.push(t0, { eventId: uuid(), ...base, type: 'confirmation.requested', payloadHash });
      queue.push(t0 + 3000, { eventId: uuid(), ...base, type: i % 4 !== 0 ? 'confirmation.rejected' : 'confirmation.accepted', payloadHash });
    }
    const user = who(200);
    const cart = { name: 'cart.add', vendor, riskTier: 'low', stateChanging: true };
    for (let i = 0; i < 22; i++) {
      const base = { ...user, intentId: `i-${uuid()}`, action: cart };
      const req = { payloadHash: `sha256:${hex(64)}`, attempt: 1, idempotencyKey: `idk-${uuid()}`, scopes: ['cart:write'], requiredScope: 'cart:write' };
      const t0 = at + 600_000 + i * 2000;
      queue.push(t0, { eventId: uuid(), ...base, type: 'action.requested', ...req });
      queue.push(t0 + 500, { eventId: uuid(), ...base, type: 'action.succeeded', ...req, outcome: { status: 'ok', httpStatus: 200, latencyMs: 300, vendorRef: `VR${hex(8).toUpperCase()}` } });
    }
  };

  while (emitted < opts.events) {
    t += gap * (0.5 + rnd());
    if (t >= nextBurst) {
      burst(t);
      nextBurst += 6 * 3_600_000;
    }
    // a little out-of-order arrival: events are released up to 2 s after their time
    yield* flush(t - 2000 - rnd() * 2000);
    const userNo = Math.floor(rnd() ** 1.5 * USERS);
    const userId = `u_${String(userNo).padStart(5, '0')}`;
    const [agentId, agentVersion] = pick(AGENTS);
    const a = pickAction();
    const vendor = VENDORS[(userNo + a.name.length) % VENDORS.length]!;
    const intentId = `i-${uuid()}`;
    const base: Ev = {
      userId,
      agentId,
      agentVersion,
      intentId,
      sessionId: `s-${uuid()}`,
      requestId: `r-${uuid()}`,
      traceId: hex(32),
      plan: PLANS[userNo % 3],
    };
    const action: Record<string, unknown> = { name: a.name, vendor, riskTier: a.riskTier, stateChanging: a.name !== 'cart.add' || rnd() < 0.5 };
    if (a.riskTier !== 'low') Object.assign(action, { amountMinor: Math.floor(rnd() * 200_000), currency: 'USD' });
    const payloadHash = `sha256:${hex(64)}`;
    const scopes = [a.scope, 'profile:read'];
    let at = t;
    const add = (type: string, extra: Ev = {}, dt = 200 + rnd() * 1500) => {
      at += dt;
      queue.push(at, { eventId: uuid(), ...base, type, action, ...extra });
      return at;
    };
    const anomaly = rnd() < 0.004 ? Math.floor(rnd() * 11) : -1;
    if (anomaly === 0) base.sessionId = `jane.doe${userNo}@example.com`; // unmasked PII

    add('intent.parsed', { confidenceScore: Math.round((0.7 + rnd() * 0.3) * 100) / 100 });
    let confirmed = false;
    if (a.riskTier !== 'low' && anomaly !== 1) {
      add('confirmation.requested', { payloadHash });
      const r = rnd();
      if (r < 0.04) {
        add(r < 0.02 ? 'confirmation.rejected' : 'confirmation.expired', { payloadHash });
        if (anomaly === 0) onInjected?.({ kind: SINGLE_INTENT_KINDS[0]!, at, intentId });
        continue;
      }
      add('confirmation.accepted', { payloadHash }, 2000 + rnd() * 8000);
      confirmed = true;
    }
    // Which injected anomaly this intent really shows (some need a risk tier, a confirmation or a state change).
    const shows = [true, a.riskTier !== 'low', a.riskTier === 'high', true, action.stateChanging === true, confirmed, true, true, action.stateChanging === true, true, true];
    if (anomaly >= 0 && shows[anomaly]) onInjected?.({ kind: SINGLE_INTENT_KINDS[anomaly]!, at, intentId });
    if (a.riskTier === 'high' && anomaly !== 2) {
      add('stepup.requested');
      add('stepup.passed', {}, 3000 + rnd() * 10000);
    }
    const deny = anomaly === 3;
    add('authz.checked', { decision: deny ? 'deny' : 'allow', scopes, requiredScope: a.scope });
    const key = anomaly === 4 ? undefined : `idk-${uuid()}`;
    const reqHash = anomaly === 5 ? `sha256:${hex(64)}` : payloadHash;
    const attempts = anomaly === 6 ? 7 : rnd() < 0.05 ? 2 : 1;
    for (let attempt = 1; attempt <= attempts; attempt++) {
      const req: Ev = { payloadHash: reqHash, attempt, scopes, requiredScope: a.scope };
      if (key) req.idempotencyKey = key;
      add('action.requested', req);
      if (anomaly === 7 && attempt === attempts) break; // orphaned: no outcome
      const failed = attempt < attempts;
      const outcome = failed
        ? { status: rnd() < 0.5 ? 'timeout' : 'error', httpStatus: 503, latencyMs: Math.floor(500 + rnd() * 6000) }
        : { status: 'ok', httpStatus: 200, latencyMs: Math.floor(100 + rnd() * 2000), vendorRef: `VR${hex(8).toUpperCase()}` };
      add(failed ? 'action.failed' : 'action.succeeded', { ...req, outcome }, 300 + rnd() * 2500);
      if (anomaly === 10 && !failed) {
        // the same idempotency key sent again with another payload
        add('action.requested', { ...req, attempt: 1, payloadHash: `sha256:${hex(64)}` }, 20_000);
        add('action.succeeded', { ...req, attempt: 1, outcome }, 800);
      }
      if (anomaly === 8 && !failed) {
        // duplicate booking: the same payload succeeds again under another key
        add('action.succeeded', { ...req, idempotencyKey: `idk-${uuid()}`, outcome: { ...outcome, vendorRef: `VR${hex(8).toUpperCase()}` } }, 5000);
      }
    }
    if (anomaly === 9) {
      const forEventId = uuid();
      add('compensation.requested', { compensation: { forEventId, kind: 'refund' } });
      add('compensation.failed', { compensation: { forEventId, kind: 'refund', reason: 'vendor refused' }, outcome: { status: 'error', httpStatus: 409 } });
    }
    if (rnd() < 0.002) {
      onInjected?.({ kind: 'action_after_consent_revoked', at: at + 5000, scope: { type: 'user', id: userId } });
      const { intentId: _i, ...rest } = base;
      queue.push(at + 1000, { eventId: uuid(), ...rest, type: 'consent.revoked' });
      queue.push(at + 5000, { eventId: uuid(), ...base, type: 'action.requested', action, attempt: 1, payloadHash, idempotencyKey: `idk-${uuid()}`, scopes, requiredScope: a.scope });
      queue.push(at + 60_000, { eventId: uuid(), ...rest, type: 'consent.granted' });
    }
  }
  yield* flush(Infinity);
}

/** Generated events, validated and deduped on eventId (as ingest hands them on), in generation order. */
export function distinctEvents(opts: GenOptions): ValidEvent[] {
  const seen = new Set<string>();
  const out: ValidEvent[] = [];
  for (const line of generateEvents(opts)) {
    const e = validateEvent(JSON.parse(line));
    if (seen.has(e.eventId)) continue;
    seen.add(e.eventId);
    out.push(e);
  }
  return out;
}

/** Writes the events file unless it is there already (same options, same bytes); returns its path. */
export async function ensureEventsFile(opts: GenOptions, dir = '.cache/bench'): Promise<string> {
  const file = join(dir, `events-v${GENERATOR_VERSION}-${opts.events}-s${opts.seed}-h${opts.hours}.jsonl`);
  if (existsSync(file)) return file;
  mkdirSync(dirname(file), { recursive: true });
  const tmp = `${file}.tmp`;
  const out = createWriteStream(tmp, { highWaterMark: 1 << 20 });
  let buf = '';
  for (const line of generateEvents(opts)) {
    buf += line + '\n';
    if (buf.length > 1 << 20) {
      if (!out.write(buf)) await new Promise<void>((r) => out.once('drain', () => r()));
      buf = '';
    }
  }
  out.write(buf);
  await new Promise<void>((resolve, reject) => out.end((e?: Error | null) => (e ? reject(e) : resolve())));
  renameSync(tmp, file);
  return file;
}

if (import.meta.main) {
  const { parseArgs } = await import('node:util');
  const { values } = parseArgs({ options: { events: { type: 'string' }, seed: { type: 'string' }, hours: { type: 'string' }, out: { type: 'string' } } });
  const opts = { events: Number(values.events ?? 1_000_000), seed: Number(values.seed ?? 42), hours: Number(values.hours ?? 96) };
  if (values.out) {
    const out = createWriteStream(values.out);
    for (const line of generateEvents(opts)) out.write(line + '\n');
    out.end();
  } else {
    process.stdout.write((await ensureEventsFile(opts)) + '\n');
  }
}
