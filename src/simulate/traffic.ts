import type { AgentEvent } from '../../processors/core/events.ts';
import { AGENTS } from './catalog.ts';
import { IntentScript, type SimUser, type World } from './world.ts';

/**
 * Normal agent traffic, the kind that must raise no finding: each intent goes through what its risk
 * needs (confirmation for medium and high risk, step-up for high risk, authorization), the vendor
 * answers with a realistic latency and sometimes fails, agents retry a failed call under the same
 * idempotency key within a retry budget, users sometimes cancel a booking (a compensation the agent
 * asks for and the vendor grants), and sometimes revoke their consent for a while (and start nothing
 * meanwhile). The look-alikes of the event contract happen too: a vendor's answer replayed under
 * the same key with the same vendorRef, low-risk actions without confirmation, read-only calls
 * without an idempotency key.
 */

/** Chances per intent (normal traffic). */
export const NORMAL = {
  confirmationRejected: 0.02,
  confirmationExpired: 0.01,
  stepUpFailed: 0.02,
  authzDenied: 0.004,
  vendorFailure: 0.025,
  /** Of failures: a timeout (slow) rather than a fast error. */
  timeoutShare: 0.35,
  retryAfterFailure: 0.8,
  maxAttempt: 3,
  cancelBooking: 0.01,
  replayedAnswer: 0.004,
  /** A consent revocation per this many intents. */
  intentsPerRevocation: 400,
};

/** A user rests at least this long between two intents (no person starts twenty bookings a minute). */
const USER_REST_MS = 20_000;

/**
 * Writes one normal intent starting at `at` for `user`; returns the event time of its last event.
 * Draws from the world's random numbers only, so the same seed writes the same intent.
 */
export function normalIntent(w: World, at: number, user: SimUser): number {
  const r = w.rng;
  const agent = r.weighted(AGENTS);
  const kind = r.weighted(agent.actions);
  const s = new IntentScript(w, at, user, agent, kind);
  s.parse();
  const end = () => {
    user.busyUntil = s.t + USER_REST_MS + r.int(30_000);
    return s.t;
  };
  if (kind.riskTier !== 'low') {
    const x = r.next();
    const answer = x < NORMAL.confirmationRejected ? 'confirmation.rejected' : x < NORMAL.confirmationRejected + NORMAL.confirmationExpired ? 'confirmation.expired' : 'confirmation.accepted';
    s.confirm(answer);
    if (answer !== 'confirmation.accepted') return end();
  }
  if (kind.riskTier === 'high') {
    const passed = !r.chance(NORMAL.stepUpFailed);
    s.stepUp(passed);
    if (!passed) return end();
  }
  if (r.chance(NORMAL.authzDenied)) {
    s.authz('deny');
    return end();
  }
  s.authz('allow');
  const key = kind.stateChanging ? s.newKey() : undefined;
  let dt = s.pause(20, 300);
  for (let attempt = 1; ; attempt++) {
    const req = s.request(attempt, key, { dt });
    const { ok, latency, status } = vendorAnswer(w, s.action.vendor, s.t);
    const out = s.outcome(req, ok, latency, ok ? {} : { status, httpStatus: status === 'timeout' ? 504 : r.pick([502, 503]) });
    if (ok) {
      if (kind.stateChanging && r.chance(NORMAL.replayedAnswer)) {
        // the agent logged the vendor's replayed answer (same key, same vendorRef): not a duplicate
        s.emit('action.succeeded', { attempt, payloadHash: req.payloadHash, idempotencyKey: key!, outcome: out.outcome! }, s.pause(50, 400));
      }
      if (kind.stateChanging && kind.name !== 'cart.add' && r.chance(NORMAL.cancelBooking)) {
        s.compensate(out, 'compensation.succeeded', s.pause(5000, 20_000), 'the user cancelled');
      }
      return end();
    }
    const again = attempt < NORMAL.maxAttempt && r.chance(NORMAL.retryAfterFailure);
    if (!again) return end();
    dt = s.pause(500, 2500);
    if (!w.takeRetry(s.base.agentId, s.t + Math.max(1, Math.round(dt)))) return end();
  }
}

/** The vendor's answer to a call made at `at`: fails during an outage, and now and then otherwise. */
export function vendorAnswer(w: World, vendor: string, at: number): { ok: boolean; latency: number; status: 'error' | 'timeout' } {
  const r = w.rng;
  const down = w.isDown(vendor, at);
  if (down || r.chance(NORMAL.vendorFailure)) {
    const timeout = r.chance(down ? 0.5 : NORMAL.timeoutShare);
    return { ok: false, latency: timeout ? 8000 + r.int(1500) : 40 + r.int(400), status: timeout ? 'timeout' : 'error' };
  }
  // most calls are quick, a few take seconds, hardly any past 5 s
  const latency = Math.min(4800, 80 + r.exp(450) + (r.chance(0.05) ? r.exp(1500) : 0));
  return { ok: true, latency, status: 'error' };
}

/**
 * A user who revokes consent for the agents, then grants it again a while later; they start nothing
 * in between. Only a user with nothing in flight revokes (an intent already running would be the
 * consent-revoked scenario's bug, not normal traffic).
 */
export function consentChurn(w: World, at: number, user: SimUser): void {
  const r = w.rng;
  const agent = r.weighted(AGENTS);
  const who = { userId: user.id, agentId: agent.id, agentVersion: agent.version, traceId: r.hex(32), plan: user.plan };
  w.schedule(at, { eventId: r.uuid(), type: 'consent.revoked', occurredAt: '', ...who } as AgentEvent);
  const back = at + 15_000 + r.int(45_000);
  w.schedule(back, { eventId: r.uuid(), type: 'consent.granted', occurredAt: '', ...who } as AgentEvent);
  user.busyUntil = back + USER_REST_MS;
}
