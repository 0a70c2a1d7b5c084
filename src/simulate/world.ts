import type { ActionInfo, AgentEvent, EventType } from '../../processors/core/events.ts';
import { MinHeap } from '../../processors/engine/min-heap.ts';
import type { ActionKind, AgentKind } from './catalog.ts';
import { PLANS } from './catalog.ts';
import { Rng } from './rng.ts';

/** A simulated user: who they are and when they are free to start something new. */
export interface SimUser {
  id: string;
  plan: string;
  /** Event time (ms) before which the user is busy (an intent, a pause, a revoked consent, a scenario). */
  busyUntil: number;
  session: string;
  sessionUntil: number;
}

/** What a vendor adapter needs to answer a compensation of an event: the event's context. */
export type TargetContext = Pick<AgentEvent, 'userId' | 'agentId' | 'agentVersion' | 'intentId' | 'sessionId' | 'traceId' | 'plan' | 'action'>;

/** Most retries (attempt > 1) of one agent within ±60 s of each other: far below retry_spike's 30 per minute. */
export const RETRY_BUDGET = 10;
const RETRY_WINDOW_MS = 60_000;
/** Heap priority = ms since the origin × TIE_SLOTS + scheduling order (exact up to ~99 days of event time). */
const TIE_SLOTS = 2 ** 20;
/** Events remembered as possible compensation targets (for the simulated vendor adapter). */
const MAX_TARGETS = 200_000;

/**
 * The simulated world's state and its timeline: users, per-agent retry budgets, vendor outages, and
 * a heap of scheduled events released in event-time order. Intents write their whole future on the
 * timeline when they start (IntentScript), so the events up to any time are known once every intent
 * that starts by then has started.
 */
export class World {
  readonly rng: Rng;
  readonly users: SimUser[];
  private readonly heap = new MinHeap<AgentEvent>();
  private readonly retries = new Map<string, number[]>();
  private readonly outages = new Map<string, { from: number; to: number }[]>();
  readonly targets = new Map<string, TargetContext>();
  /** Events put on the timeline so far. */
  scheduled = 0;
  /** Event time the heap's priorities count from. */
  private readonly origin: number;

  constructor(seed: number, userCount: number, origin = 0) {
    this.rng = new Rng(seed);
    this.origin = origin;
    this.users = [];
    for (let i = 0; i < userCount; i++) {
      this.users.push({ id: `u_${String(i + 1).padStart(5, '0')}`, plan: PLANS[i % PLANS.length]!, busyUntil: 0, session: '', sessionUntil: 0 });
    }
  }

  schedule(at: number, e: AgentEvent): void {
    const ms = Math.floor(at);
    e.occurredAt = new Date(ms).toISOString();
    // ties in event time go by scheduling order, so the order never depends on when events are pulled
    this.heap.push((ms - this.origin) * TIE_SLOTS + (this.scheduled % TIE_SLOTS), e);
    this.scheduled++;
  }

  /** Event time of the next scheduled event (+Infinity when none). */
  nextAt(): number {
    return Math.floor(this.heap.peekPriority() / TIE_SLOTS) + this.origin;
  }

  /** Removes and returns the next scheduled event. */
  pop(): AgentEvent | undefined {
    return this.heap.pop();
  }

  /** A user free at `at` (a few random tries; skewed: some users are much busier than others), or undefined. */
  freeUser(at: number): SimUser | undefined {
    for (let i = 0; i < 8; i++) {
      const u = this.users[Math.floor(this.rng.next() ** 1.5 * this.users.length)]!;
      if (u.busyUntil <= at) return u;
    }
    return undefined;
  }

  /** A user set aside for a scenario from `at` to `until`: normal traffic leaves them alone meanwhile. */
  reserveUser(at: number, until: number): SimUser {
    for (let i = 0; i < 1000; i++) {
      const u = this.users[this.rng.int(this.users.length)]!;
      if (u.busyUntil <= at) {
        u.busyUntil = until;
        return u;
      }
    }
    throw new Error('no free user to reserve: raise --users');
  }

  /** The user's session id at `at` (a session lasts ten minutes or so). */
  sessionOf(u: SimUser, at: number): string {
    if (u.sessionUntil <= at) {
      u.session = `s-${this.rng.uuid()}`;
      u.sessionUntil = at + 300_000 + this.rng.int(600_000);
    }
    return u.session;
  }

  /** Takes a retry from the agent's budget for a retry at `at`, if the budget allows one. */
  takeRetry(agentId: string, at: number): boolean {
    let list = this.retries.get(agentId);
    if (!list) this.retries.set(agentId, (list = []));
    // retries are written ahead of time, up to a minute or so: forget those long past
    while (list.length > 0 && list[0]! < at - 3 * RETRY_WINDOW_MS) list.shift();
    let near = 0;
    for (const t of list) if (Math.abs(t - at) <= RETRY_WINDOW_MS) near++;
    if (near >= RETRY_BUDGET) return false;
    let i = list.length;
    while (i > 0 && list[i - 1]! > at) i--;
    list.splice(i, 0, at);
    return true;
  }

  /** The vendor fails every call made from `from` to `to` (event time). */
  addOutage(vendor: string, from: number, to: number): void {
    const list = this.outages.get(vendor) ?? [];
    list.push({ from, to });
    this.outages.set(vendor, list);
  }

  isDown(vendor: string, at: number): boolean {
    return this.outages.get(vendor)?.some((o) => at >= o.from && at < o.to) ?? false;
  }

  /** Remembers a state-changing action's event, which a compensation may later name. */
  rememberTarget(e: AgentEvent): void {
    const { userId, agentId, agentVersion, intentId, sessionId, traceId, plan, action } = e;
    this.targets.set(e.eventId, { userId, agentId, agentVersion, intentId, sessionId, traceId, plan, action });
    if (this.targets.size > MAX_TARGETS) this.targets.delete(this.targets.keys().next().value!);
  }

  /** A payload hash (the canonical vendor payload's sha256, as agents write it). */
  payloadHash(): string {
    return `sha256:${this.rng.hex(64)}`;
  }
}

type Extra = Partial<Omit<AgentEvent, 'eventId' | 'type' | 'occurredAt'>>;

/**
 * One intent's events, written on the world's timeline as the script goes: every step moves the
 * script's clock forward (by at least 1 ms, so the intent's events are strictly ordered).
 */
export class IntentScript {
  readonly world: World;
  t: number;
  readonly base: Pick<AgentEvent, 'userId' | 'agentId' | 'agentVersion' | 'intentId' | 'sessionId' | 'requestId' | 'traceId' | 'plan'>;
  readonly action: ActionInfo;
  readonly kind: ActionKind;
  readonly scopes: string[];
  readonly payloadHash: string;

  constructor(world: World, at: number, user: SimUser, agent: AgentKind, kind: ActionKind, opts: { vendor?: string; sessionId?: string; payloadHash?: string } = {}) {
    const r = world.rng;
    this.world = world;
    this.t = Math.round(at);
    this.kind = kind;
    this.base = {
      userId: user.id,
      agentId: agent.id,
      agentVersion: agent.version,
      intentId: `i-${r.uuid()}`,
      sessionId: opts.sessionId ?? world.sessionOf(user, at),
      requestId: `r-${r.uuid()}`,
      traceId: r.hex(32),
      plan: user.plan,
    };
    this.action = { name: kind.name, vendor: opts.vendor ?? r.pick(kind.vendors), riskTier: kind.riskTier, stateChanging: kind.stateChanging };
    if (kind.amount > 0) Object.assign(this.action, { amountMinor: Math.round(kind.amount * (0.3 + r.next() * 1.4)), currency: 'USD' });
    this.scopes = [...new Set([...agent.actions.map((a) => a.scope), 'profile:read'])];
    this.payloadHash = opts.payloadHash ?? world.payloadHash();
  }

  /** Writes one event `dt` ms after the previous one (at least 1 ms). */
  emit(type: EventType, extra: Extra = {}, dt = 0): AgentEvent {
    this.t += Math.max(1, Math.round(dt));
    const e = { eventId: this.world.rng.uuid(), type, occurredAt: '', ...this.base, action: this.action, ...extra } as AgentEvent;
    this.world.schedule(this.t, e);
    return e;
  }

  /** A short pause of a person or a service: `lo` to `hi` ms. */
  pause(lo: number, hi: number): number {
    return lo + this.world.rng.next() * (hi - lo);
  }

  parse(): AgentEvent {
    return this.emit('intent.parsed', { confidenceScore: Math.round((0.8 + this.world.rng.next() * 0.19) * 100) / 100 }, this.pause(1, 50));
  }

  /** The confirmation dialogue: requested, then the user's answer (accepted, rejected or expired). */
  confirm(answer: 'confirmation.accepted' | 'confirmation.rejected' | 'confirmation.expired', payloadHash = this.payloadHash): AgentEvent {
    this.emit('confirmation.requested', { payloadHash }, this.pause(100, 600));
    const wait = answer === 'confirmation.expired' ? this.pause(20_000, 30_000) : this.pause(1500, 8000);
    return this.emit(answer, { payloadHash }, wait);
  }

  stepUp(passed = true): AgentEvent {
    this.emit('stepup.requested', {}, this.pause(100, 500));
    return this.emit(passed ? 'stepup.passed' : 'stepup.failed', {}, this.pause(2500, 9000));
  }

  authz(decision: 'allow' | 'deny', scopes = this.scopes): AgentEvent {
    return this.emit('authz.checked', { decision, scopes, requiredScope: this.kind.scope }, this.pause(20, 200));
  }

  /** action.requested of an attempt (the caller chooses key and payload; retries keep both). */
  request(attempt: number, key: string | undefined, o: { payloadHash?: string; scopes?: string[]; requiredScope?: string; dt?: number } = {}): AgentEvent {
    const extra: Extra = { attempt, payloadHash: o.payloadHash ?? this.payloadHash, scopes: o.scopes ?? this.scopes, requiredScope: o.requiredScope ?? this.kind.scope };
    if (key !== undefined) extra.idempotencyKey = key;
    const e = this.emit('action.requested', extra, o.dt ?? this.pause(20, 300));
    if (this.action.stateChanging) this.world.rememberTarget(e);
    return e;
  }

  /** The vendor's answer to `req`, `latencyMs` after it. */
  outcome(req: AgentEvent, ok: boolean, latencyMs: number, o: { status?: 'error' | 'timeout'; httpStatus?: number; errorCode?: string; vendorRef?: string } = {}): AgentEvent {
    const outcome = ok
      ? { status: 'ok' as const, httpStatus: o.httpStatus ?? 200, latencyMs: Math.round(latencyMs), ...(this.action.stateChanging ? { vendorRef: o.vendorRef ?? this.vendorRef() } : {}) }
      : { status: o.status ?? ('error' as const), httpStatus: o.httpStatus ?? 503, ...(o.errorCode ? { errorCode: o.errorCode } : {}), latencyMs: Math.round(latencyMs) };
    const extra: Extra = { attempt: req.attempt, payloadHash: req.payloadHash, outcome };
    if (req.idempotencyKey !== undefined) extra.idempotencyKey = req.idempotencyKey;
    const e = this.emit(ok ? 'action.succeeded' : 'action.failed', extra, latencyMs);
    if (ok && this.action.stateChanging) this.world.rememberTarget(e);
    return e;
  }

  vendorRef(): string {
    return `${this.action.vendor.slice(0, 2).toUpperCase()}-${this.world.rng.hex(8).toUpperCase()}`;
  }

  newKey(): string {
    return `idk-${this.world.rng.uuid()}`;
  }

  /** A compensation the agent asks for itself (a user cancelled): requested, then the vendor's answer. */
  compensate(forEvent: AgentEvent, answer: 'compensation.succeeded' | 'compensation.failed', dt: number, reason: string): void {
    const compensation = { forEventId: forEvent.eventId, kind: this.kind.refund ? ('refund' as const) : ('cancel' as const), reason };
    this.emit('compensation.requested', { compensation }, dt);
    const latencyMs = Math.round(this.pause(300, 2500));
    const outcome = answer === 'compensation.succeeded'
      ? { status: 'ok' as const, httpStatus: 200, latencyMs, vendorRef: `CX-${this.world.rng.hex(8).toUpperCase()}` }
      : { status: 'error' as const, httpStatus: 409, errorCode: 'NON_REFUNDABLE', latencyMs };
    this.emit(answer, { compensation, outcome }, latencyMs);
  }
}
