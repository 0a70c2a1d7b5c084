/**
 * Breaker state (protocol v1, docs/breaker-protocol.md) as the monitor models it: a tagged union of the
 * five states, each carrying its own data, plus its serialised form, the Redis hash that the Lua scripts
 * and any Go or Python reader share. Pure: no I/O here.
 */

import { DEFAULT_SETTINGS, parseReason, PROTOCOL_VERSION } from '@vigil/breaker-client/protocol';
import type { BreakerReason, BreakerScope, BreakerSettings } from '@vigil/breaker-client/protocol';

// The protocol's constants, reason, settings and id rules live in @vigil/breaker-client (shared with
// every client); re-exported here for the monitor's modules.
export { BREAKER_SCOPES, BREAKER_STATES, DEFAULT_SETTINGS, GLOBAL_ID, parseReason, PROTOCOL_VERSION, scopeIdProblem } from '@vigil/breaker-client/protocol';
export type { BreakerReason, BreakerScope, BreakerSettings, BreakerStateName } from '@vigil/breaker-client/protocol';

/** The states; times are epoch milliseconds from Redis `TIME`. */
export type BreakerStatus =
  | { kind: 'closed' }
  | { kind: 'open'; since: number; until: number; reason: BreakerReason }
  | {
      kind: 'half_open';
      since: number;
      /** Trial deadline (see BreakerSettings.trialTimeoutMs). */
      until: number;
      reason: BreakerReason;
      /** Permits not yet handed out, handed out and not yet reported, successes reported. */
      permits: number;
      inflight: number;
      successes: number;
    }
  | { kind: 'forced_open'; since: number; until: number; actor: string; note: string }
  | { kind: 'forced_closed'; since: number; until: number; actor: string; note: string };

/** One breaker: its identity, the data every state shares, and its status. */
export interface Breaker {
  scope: BreakerScope;
  id: string;
  /** Transitions so far (part of non-trip transition ids). */
  seq: number;
  /** Consecutive trips, for backoff; remembered for capMs after the breaker closes. */
  trips: number;
  /** When it last closed after trials (0: never). */
  closedAt: number;
  /** Distinct findings applied while open. */
  findings: number;
  settings: BreakerSettings;
  status: BreakerStatus;
}

/** A fresh, closed breaker (what a missing hash means). */
export function closedBreaker(scope: BreakerScope, id: string): Breaker {
  return { scope, id, seq: 0, trips: 0, closedAt: 0, findings: 0, settings: { ...DEFAULT_SETTINGS }, status: { kind: 'closed' } };
}

const num = (h: Record<string, string>, f: string, d = 0): number => {
  const v = h[f];
  if (v === undefined || v === '') return d;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new Error(`breaker hash field "${f}" is not a number: ${JSON.stringify(v)}`);
  return n;
};

/** Reads a breaker from its protocol-v1 hash (HGETALL); an empty hash is a closed breaker. */
export function breakerFromHash(scope: BreakerScope, id: string, h: Record<string, string>): Breaker {
  const b = closedBreaker(scope, id);
  if (Object.keys(h).length === 0) return b;
  if (h.v !== undefined && h.v !== String(PROTOCOL_VERSION)) throw new Error(`breaker ${scope}:${id} has protocol version ${h.v}, expected ${PROTOCOL_VERSION}`);
  b.seq = num(h, 'seq');
  b.trips = num(h, 'trips');
  b.closedAt = num(h, 'closedAt');
  b.findings = num(h, 'findings');
  b.settings = {
    baseMs: num(h, 'baseMs', DEFAULT_SETTINGS.baseMs),
    capMs: num(h, 'capMs', DEFAULT_SETTINGS.capMs),
    jitter: num(h, 'jitter', DEFAULT_SETTINGS.jitter),
    trials: num(h, 'trials', DEFAULT_SETTINGS.trials),
    trialTimeoutMs: num(h, 'trialTimeoutMs', DEFAULT_SETTINGS.trialTimeoutMs),
  };
  const since = num(h, 'since');
  const until = num(h, 'until');
  const state = h.state ?? 'closed';
  switch (state) {
    case 'closed':
      b.status = { kind: 'closed' };
      break;
    case 'open':
      b.status = { kind: 'open', since, until, reason: parseReason(h.reason) };
      break;
    case 'half_open':
      b.status = {
        kind: 'half_open', since, until, reason: parseReason(h.reason),
        permits: num(h, 'permits'), inflight: num(h, 'inflight'), successes: num(h, 'successes'),
      };
      break;
    case 'forced_open':
    case 'forced_closed':
      b.status = { kind: state, since, until, actor: h.actor ?? '', note: h.note ?? '' };
      break;
    default:
      throw new Error(`breaker ${scope}:${id} has unknown state ${JSON.stringify(state)}`);
  }
  return b;
}

/**
 * The protocol-v1 hash of a breaker, exactly as the Lua scripts write it (fields that do not apply to
 * the state are absent). Used by the reference model to compare with Redis.
 */
export function breakerToHash(b: Breaker): Record<string, string> {
  const s = b.status;
  const h: Record<string, string> = {
    v: String(PROTOCOL_VERSION), scope: b.scope, id: b.id, state: s.kind,
    seq: String(b.seq), trips: String(b.trips), closedAt: String(b.closedAt), findings: String(b.findings),
    baseMs: String(b.settings.baseMs), capMs: String(b.settings.capMs), jitter: String(b.settings.jitter),
    trials: String(b.settings.trials), trialTimeoutMs: String(b.settings.trialTimeoutMs),
  };
  if (s.kind !== 'closed') {
    h.since = String(s.since);
    h.until = String(s.until);
  }
  if (s.kind === 'open' || s.kind === 'half_open') h.reason = JSON.stringify(s.reason);
  if (s.kind === 'half_open') {
    h.permits = String(s.permits);
    h.inflight = String(s.inflight);
    h.successes = String(s.successes);
  }
  if (s.kind === 'forced_open' || s.kind === 'forced_closed') {
    h.actor = s.actor;
    h.note = s.note;
  }
  return h;
}
