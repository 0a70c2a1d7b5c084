import { backoffMs } from './backoff.ts';
import { closedBreaker, PROTOCOL_VERSION } from './state.ts';
import type { Breaker, BreakerReason, BreakerScope, BreakerSettings, BreakerStateName, BreakerStatus } from './state.ts';
import { seqTransitionId, tripTransitionId } from '@vigil/breaker-client/protocol';
import type { BreakerTransition, Outcome, OpResult, TransitionCause } from '@vigil/breaker-client/protocol';

/**
 * The breaker state machine in pure TypeScript: the reference model that the Lua scripts in
 * packages/breaker-client/lua/src/ implement atomically (the property tests check they never differ). Each function takes
 * the stored breaker (undefined: no hash yet) and the time, and returns the breaker to store
 * (undefined: leave Redis untouched) and the same result the script returns.
 *
 * Every operation first applies lazy expiry: a forced override past its expiry becomes `closed`
 * (cause `override_expired`, never `half_open`).
 */

export type { Outcome, OpResult } from '@vigil/breaker-client/protocol';

export interface Step {
  /** The breaker to store, or undefined when nothing is written. */
  breaker: Breaker | undefined;
  result: OpResult;
}

export interface TripArgs {
  findingId: string;
  reason: BreakerReason;
  settings: BreakerSettings;
}

export interface ForceArgs {
  mode: 'forced_open' | 'forced_closed';
  actor: string;
  note: string;
  ttlMs: number;
}

class Ctx {
  readonly transitions: BreakerTransition[] = [];
  dirty = false;
  b: Breaker;
  constructor(b: Breaker) {
    this.b = b;
  }

  move(status: BreakerStatus, cause: TransitionCause, at: number, extra: { findingId?: string; actor?: string; note?: string } = {}): void {
    const b = this.b;
    const from = b.status.kind;
    b.seq += 1;
    b.status = status;
    this.dirty = true;
    const until = 'until' in status ? status.until : null;
    this.transitions.push({
      transitionId: extra.findingId !== undefined ? tripTransitionId(b.scope, b.id, extra.findingId) : seqTransitionId(b.scope, b.id, b.seq, at),
      protocolVersion: PROTOCOL_VERSION,
      scope: b.scope,
      scopeId: b.id,
      from,
      to: status.kind,
      cause,
      at,
      until,
      trips: b.trips,
      findingId: extra.findingId ?? null,
      actor: extra.actor ?? null,
      note: extra.note ?? null,
      reason: status.kind === 'open' && cause === 'trip' ? status.reason : null,
    });
  }

  result(outcome: Outcome, now: number, retry = false): OpResult {
    const s = this.b.status;
    const until = s.kind === 'closed' ? null : s.until;
    return {
      outcome,
      state: s.kind,
      until,
      retryAfterMs: retry && until !== null ? Math.max(0, until - now) : null,
      reason: s.kind === 'open' || s.kind === 'half_open' ? s.reason : null,
      actor: s.kind === 'forced_open' || s.kind === 'forced_closed' ? s.actor : null,
      note: s.kind === 'forced_open' || s.kind === 'forced_closed' ? s.note : null,
      transitions: this.transitions,
    };
  }

  step(exists: boolean, outcome: Outcome, now: number, retry = false): Step {
    return { breaker: this.dirty || exists ? this.b : undefined, result: this.result(outcome, now, retry) };
  }
}

function load(stored: Breaker | undefined, scope: BreakerScope, id: string, now: number): Ctx {
  const ctx = new Ctx(stored ? structuredClone(stored) : closedBreaker(scope, id));
  const s = ctx.b.status;
  if ((s.kind === 'forced_open' || s.kind === 'forced_closed') && now >= s.until) {
    ctx.move({ kind: 'closed' }, 'override_expired', s.until);
  }
  return ctx;
}

function open(ctx: Ctx, now: number, reason: BreakerReason, cause: TransitionCause, findingId?: string): void {
  const b = ctx.b;
  b.trips += 1;
  const until = now + backoffMs(b.scope, b.id, b.trips, b.settings);
  ctx.move({ kind: 'open', since: now, until, reason }, cause, now, findingId !== undefined ? { findingId } : {});
}

/**
 * A finding trips the breaker. `seen`: undefined when the findingId was not applied to this breaker yet;
 * otherwise the trip transition it caused then (null: none). A duplicate returns that transition again
 * (after any made now), so a caller that crashed before handing it on can do so (same transitionId).
 */
export function trip(stored: Breaker | undefined, scope: BreakerScope, id: string, now: number, a: TripArgs, seen: BreakerTransition | null | undefined): Step {
  const ctx = load(stored, scope, id, now);
  const b = ctx.b;
  const s = b.status;
  if (seen !== undefined) {
    const step = ctx.step(stored !== undefined, 'duplicate', now);
    if (seen) step.result.transitions = [...step.result.transitions, seen];
    return step;
  }
  if (s.kind === 'forced_open' || s.kind === 'forced_closed') return ctx.step(stored !== undefined, 'overridden', now);
  if (s.kind === 'open' && now < s.until) {
    b.findings += 1;
    ctx.dirty = true;
    return ctx.step(true, 'already_open', now);
  }
  if (s.kind === 'closed' && !(b.closedAt > 0 && now - b.closedAt < b.settings.capMs)) b.trips = 0;
  b.settings = { ...a.settings };
  b.findings = 1;
  open(ctx, now, a.reason, 'trip', a.findingId);
  return ctx.step(true, 'tripped', now);
}

/** A caller asks to go ahead: allowed, given a half-open trial permit, or denied. */
export function takePermit(stored: Breaker | undefined, scope: BreakerScope, id: string, now: number): Step {
  const ctx = load(stored, scope, id, now);
  const b = ctx.b;
  let s = b.status;
  if (s.kind === 'closed' || s.kind === 'forced_closed') return ctx.step(stored !== undefined, 'allowed', now);
  if (s.kind === 'forced_open') return ctx.step(true, 'denied', now, true);
  if (s.kind === 'open') {
    if (now < s.until) return ctx.step(true, 'denied', now, true);
    ctx.move(
      { kind: 'half_open', since: now, until: now + b.settings.trialTimeoutMs, reason: s.reason, permits: b.settings.trials, inflight: 0, successes: 0 },
      'cooldown_elapsed',
      now,
    );
    s = b.status;
  }
  if (s.kind !== 'half_open') throw new Error('unreachable');
  if (now >= s.until) {
    // Trial deadline passed with permits unreported: hand them out again.
    s.permits = b.settings.trials - s.successes;
    s.inflight = 0;
    s.until = now + b.settings.trialTimeoutMs;
    ctx.dirty = true;
  }
  if (s.permits > 0) {
    s.permits -= 1;
    s.inflight += 1;
    ctx.dirty = true;
    return ctx.step(true, 'permit', now);
  }
  return ctx.step(true, 'denied', now, true);
}

/** The outcome of a half-open trial call. Ignored unless the breaker is half_open with a permit in flight. */
export function reportTrial(stored: Breaker | undefined, scope: BreakerScope, id: string, now: number, success: boolean): Step {
  const ctx = load(stored, scope, id, now);
  const b = ctx.b;
  const s = b.status;
  if (s.kind !== 'half_open' || s.inflight === 0) return ctx.step(stored !== undefined, 'ignored', now);
  s.inflight -= 1;
  ctx.dirty = true;
  if (!success) {
    open(ctx, now, s.reason, 'trial_failed');
  } else {
    s.successes += 1;
    if (s.successes >= b.settings.trials) {
      b.closedAt = now;
      b.findings = 0;
      ctx.move({ kind: 'closed' }, 'trials_succeeded', now);
    }
  }
  return ctx.step(true, 'applied', now);
}

/** An operator override: forced_open or forced_closed until now + ttlMs. */
export function force(stored: Breaker | undefined, scope: BreakerScope, id: string, now: number, a: ForceArgs): Step {
  const ctx = load(stored, scope, id, now);
  ctx.move({ kind: a.mode, since: now, until: now + a.ttlMs, actor: a.actor, note: a.note }, a.mode === 'forced_open' ? 'force_open' : 'force_close', now, {
    actor: a.actor,
    note: a.note,
  });
  return ctx.step(true, 'forced', now);
}

/** An operator reset: closed, backoff forgotten. Undefined result when the breaker does not exist. */
export function reset(stored: Breaker | undefined, scope: BreakerScope, id: string, now: number, actor: string, note: string): Step | undefined {
  if (!stored) return undefined;
  const ctx = load(stored, scope, id, now);
  ctx.b.trips = 0;
  ctx.b.closedAt = 0;
  ctx.b.findings = 0;
  ctx.move({ kind: 'closed' }, 'reset', now, { actor, note });
  return ctx.step(true, 'reset', now);
}
