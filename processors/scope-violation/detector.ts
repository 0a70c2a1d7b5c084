import type { Detector } from '../core/detector.ts';
import { settleOverdueFirstPartitionLocal } from '../shared/settle-overdue.ts';
import { emitDetection, insertEv, retain, type Ev } from '../shared/evidence.ts';
import { INTENT_MEMORY_MS } from '../shared/first-offender.ts';
import { intentKeyOf } from '../shared/intent-key.ts';

/** scope_violation has no parameters. */
export interface ScopeViolationParams {
  [k: string]: number;
}


interface Request extends Ev {
  ag: string;
  action: string;
  vendor: string;
  /** requiredScope, when the token lacked it. */
  miss?: string;
}

/** Slice `i:<userId>:<intentId>`: the intent's authorization decisions and requests to check. */
export interface ScopeViolationState {
  userId: string;
  intentId: string;
  /** authz.checked denies, sorted, the earliest few. */
  z: Ev[];
  /** Requests waiting for the watermark, sorted. */
  q: Request[];
  done: boolean;
  last: number;
}

const MAX_DENIES = 4;
const MAX_PENDING = 16;

/**
 * scope_violation: an `action.requested` whose requiredScope is not in its scopes, or that comes
 * after an `authz.checked` deny for its intent (in event time, at the same millisecond included, and
 * at most 15 min before: an intent is not remembered longer).
 * Scope: agent. A request without `scopes` is not judged on scopes. One finding per intent: its first
 * offending request, decided once the watermark has passed it (a deny that arrives up to the lateness
 * late still counts). Allow decisions are not needed and cost nothing.
 */
export const scopeViolation: Detector<ScopeViolationState, ScopeViolationParams> = settleOverdueFirstPartitionLocal<ScopeViolationState, ScopeViolationParams>({
  kind: 'scope_violation',
  severity: 'critical',
  defaults: {},

  keyOf(e) {
    return e.type === 'action.requested' || (e.type === 'authz.checked' && e.decision === 'deny') ? intentKeyOf(e) : undefined;
  },

  init() {
    return { userId: '', intentId: '', z: [], q: [], done: false, last: Number.MIN_SAFE_INTEGER };
  },

  onEvent(s, e, ctx) {
    s.userId = e.userId;
    s.intentId = e.intentId ?? '';
    if (s.done && e.ts > s.last + INTENT_MEMORY_MS) {
      // Past the slice's expiry: start afresh, as a new slice would.
      s.done = false;
      s.z = [];
      s.q = [];
    }
    if (e.ts > s.last) s.last = e.ts;
    if (s.done) return s;
    if (e.type === 'authz.checked') {
      if (e.decision !== 'deny') return s;
      insertEv(s.z, { t: e.ts, id: e.eventId, tr: e.traceId });
      if (s.z.length > MAX_DENIES) s.z.pop();
      return s;
    }
    const r: Request = { t: e.ts, id: e.eventId, tr: e.traceId, ag: e.agentId, action: e.action?.name ?? '', vendor: e.action?.vendor ?? '' };
    if (e.requiredScope !== undefined && e.scopes !== undefined && !e.scopes.includes(e.requiredScope)) r.miss = e.requiredScope;
    insertEv(s.q, r, MAX_PENDING);
    // A request that is not suspect is kept only while a deny before it could still arrive.
    if (s.q[0]!.t < s.last - ctx.latenessMs) retain(s.q, (x) => x.t >= s.last - ctx.latenessMs || suspect(s, x));
    return s;
  },

  nextDue(s) {
    if (s.done) return undefined;
    for (const r of s.q) if (suspect(s, r)) return r.t;
    return undefined;
  },

  onWatermark(s, watermark, ctx) {
    while (!s.done && s.q.length > 0 && s.q[0]!.t <= watermark) {
      const r = s.q.shift()!;
      const deny = denyBefore(s, r);
      if (r.miss === undefined && deny === undefined) continue;
      s.done = true;
      s.q = [];
      const why = r.miss !== undefined ? `without scope ${r.miss} in its token` : `after authorization was denied for the intent`;
      emitDetection(
        ctx,
        { type: 'agent', id: r.ag },
        deny === undefined ? [r] : [deny, r],
        `agent ${r.ag} requested ${r.action} at ${r.vendor} ${why} (user ${s.userId}, intent ${s.intentId})`,
        { observed: 1, threshold: 1 },
      );
    }
    return s;
  },

  expiresAt(s) {
    // A deny (or a finding) is remembered for the intent; otherwise the slice is needed only until the
    // watermark passes its latest request (a deny arriving after that comes after all it holds).
    if (s.done || s.z.length > 0) return s.last + INTENT_MEMORY_MS;
    return s.last;
  },
});

/** The first deny at or before the request (same millisecond included) and at most 15 min before it. */
function denyBefore(s: ScopeViolationState, r: Ev): Ev | undefined {
  for (const d of s.z) if (d.t <= r.t && r.t - d.t <= INTENT_MEMORY_MS) return d;
  return undefined;
}

/** Whether the request offends. */
function suspect(s: ScopeViolationState, r: Request): boolean {
  return r.miss !== undefined || denyBefore(s, r) !== undefined;
}
