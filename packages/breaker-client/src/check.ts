import { BREAKER_SCOPES, GLOBAL_ID, parseReason, PROTOCOL_VERSION } from './protocol.ts';
import type { BreakerReason, BreakerScope, BreakerStateName } from './protocol.ts';

/**
 * The read side of a check, pure: what one breaker's stored fields say at a given time, and how the
 * scopes of one intended action combine into the most restrictive answer.
 */

/** The hash fields a check reads (HMGET, in this order). */
export const CHECK_FIELDS = ['v', 'state', 'until', 'permits', 'reason', 'actor', 'note', 'since'] as const;
export type CheckFields = Partial<Record<(typeof CHECK_FIELDS)[number], string>>;

/** The fields from an HMGET reply (nulls for absent fields). */
export function checkFieldsFrom(reply: readonly (string | null)[]): CheckFields {
  const f: CheckFields = {};
  CHECK_FIELDS.forEach((name, i) => {
    const v = reply[i];
    if (v !== null && v !== undefined) f[name] = v;
  });
  return f;
}

export interface ScopeRef {
  scope: BreakerScope;
  id: string;
}

/** One scope's verdict: allow, deny, or probe (needs the takePermit script: half-open trial). */
export type Verdict =
  | { kind: 'allow'; state: BreakerStateName; permit: boolean }
  | { kind: 'deny'; state: BreakerStateName | 'unknown'; retryAfterMs: number | null; reason: BreakerReason | null; actor: string | null; note: string | null }
  | { kind: 'probe'; state: 'open' | 'half_open' };

/** A denial by a breaker this client cannot read (another protocol version, or a state v1 does not know). */
export function unknownBreaker(note: string): Extract<Verdict, { kind: 'deny' }> {
  return { kind: 'deny', state: 'unknown', retryAfterMs: null, reason: null, actor: null, note };
}

/**
 * What a breaker's stored fields say at time `now` (epoch ms, Redis time), without changing anything.
 * No field at all means no hash: closed. A hash whose `v` is not this protocol's (or missing), or whose
 * state v1 does not know, denies (state `unknown`, retry-after unknown): the fail-safe reading.
 */
export function evaluate(f: CheckFields, clock: number): Verdict {
  if (Object.keys(f).length > 0 && f.v !== String(PROTOCOL_VERSION)) {
    return unknownBreaker(`protocol version ${JSON.stringify(f.v ?? null)} (this client reads ${PROTOCOL_VERSION})`);
  }
  // Redis wrote the state at `since` by its own clock, so its time now is at least that: a caller's
  // estimate of Redis time (the client measures TIME once a second) that lags a little must not
  // make retryAfterMs longer than the breaker was opened for.
  const now = f.since === undefined ? clock : Math.max(clock, Number(f.since));
  const state = (f.state ?? 'closed') as BreakerStateName;
  const until = Number(f.until ?? 0);
  switch (state) {
    case 'closed':
      return { kind: 'allow', state, permit: false };
    case 'forced_closed':
      return { kind: 'allow', state: now >= until ? 'closed' : state, permit: false };
    case 'forced_open':
      if (now >= until) return { kind: 'allow', state: 'closed', permit: false };
      return { kind: 'deny', state, retryAfterMs: until - now, reason: null, actor: f.actor ?? null, note: f.note ?? null };
    case 'open':
      if (now < until) return { kind: 'deny', state, retryAfterMs: until - now, reason: parseReason(f.reason), actor: null, note: null };
      return { kind: 'probe', state };
    case 'half_open':
      if (Number(f.permits ?? 0) <= 0 && now < until) {
        return { kind: 'deny', state, retryAfterMs: until - now, reason: parseReason(f.reason), actor: null, note: null };
      }
      return { kind: 'probe', state };
    default:
      // A state v1 does not know (a writer ahead of its version): the safe reading is "not allowed".
      return unknownBreaker(`unknown state ${JSON.stringify(state)}`);
  }
}

/** The answer to a check of one intended action. */
export interface CheckAnswer {
  allowed: boolean;
  /** The scope that denies (the most restrictive one), null when allowed. */
  blockingScope: ScopeRef | null;
  /** The blocking scope's state; when allowed: `half_open` if a trial permit was taken, else `closed`. */
  state: BreakerStateName | 'unknown';
  /** Why it is denied, in words (rule, counts, operator), null when allowed. */
  reason: string | null;
  /** The blocking breaker's stored reason (rule, policy version, counts, finding and trace ids). */
  detail: BreakerReason | null;
  /** When asking again may get another answer (null: unknown). */
  retryAfterMs: number | null;
  /** Half-open trial permits taken by this check: report each call's outcome with reportOutcome(). */
  permits: ScopeRef[];
  /** Set when Redis could not be asked and the configured fail mode answered. */
  degraded?: 'redis_unreachable';
}

/** The scopes a check of one action consults, broadest first (global always). */
export function scopesOf(q: { vendor?: string; agent?: string; user?: string; action?: string }): ScopeRef[] {
  const out: ScopeRef[] = [{ scope: 'global', id: GLOBAL_ID }];
  for (const scope of BREAKER_SCOPES) {
    if (scope === 'global') continue;
    const id = q[scope];
    if (id !== undefined && id !== '') out.push({ scope, id });
  }
  return out;
}

/** Words for a denial. */
export function describeDenial(ref: ScopeRef, v: Extract<Verdict, { kind: 'deny' }>): string {
  const who = `${ref.scope} ${ref.id}`;
  if (v.state === 'forced_open') return `${who} forced open by ${v.actor ?? '?'}: ${v.note ?? ''}`.trim();
  if (v.note) return `${who}: ${v.note}`;
  const r = v.reason;
  if (v.state === 'half_open') return `${who} is half-open and its trial permits are taken${r?.ruleId ? ` (opened by ${r.ruleId})` : ''}`;
  if (!r || !r.ruleId) return `${who} is open`;
  const counts = r.observed !== null && r.threshold !== null ? ` (observed ${r.observed} vs threshold ${r.threshold})` : '';
  return `${who} open by rule ${r.ruleId}${counts}: ${r.summary}`;
}

const rank = (v: Extract<Verdict, { kind: 'deny' }>) => (v.state === 'forced_open' ? 2 : 1);

/**
 * The most restrictive answer over the scopes' verdicts (after any probe was settled by the takePermit
 * script): any denial denies; among denials a forced_open one wins, then the longest retryAfterMs
 * (unknown counts as longest), then the broadest scope.
 */
export function combine(verdicts: readonly { ref: ScopeRef; verdict: Exclude<Verdict, { kind: 'probe' }> }[]): CheckAnswer {
  let best: { ref: ScopeRef; v: Extract<Verdict, { kind: 'deny' }> } | undefined;
  const permits: ScopeRef[] = [];
  for (const { ref, verdict: v } of verdicts) {
    if (v.kind === 'allow') {
      if (v.permit) permits.push(ref);
      continue;
    }
    if (!best) {
      best = { ref, v };
      continue;
    }
    const a = rank(v), b = rank(best.v);
    const ra = v.retryAfterMs ?? Infinity, rb = best.v.retryAfterMs ?? Infinity;
    if (a > b || (a === b && ra > rb)) best = { ref, v };
  }
  if (!best) {
    return { allowed: true, blockingScope: null, state: permits.length ? 'half_open' : 'closed', reason: null, detail: null, retryAfterMs: null, permits };
  }
  return {
    allowed: false,
    blockingScope: best.ref,
    state: best.v.state,
    reason: describeDenial(best.ref, best.v),
    detail: best.v.reason,
    retryAfterMs: best.v.retryAfterMs,
    permits,
  };
}
