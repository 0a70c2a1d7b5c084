import type { Detector } from '../core/detector.ts';
import { settleOverdueFirstPartitionLocal } from '../shared/settle-overdue.ts';
import { emitDetection, formatDuration, insertEv, isBefore, retain, type Ev } from '../shared/evidence.ts';

/**
 * action_after_consent_revoked parameters.
 * - `revocationMemoryMs`: how long (event time) a revocation with no later grant is remembered.
 */
export interface ActionAfterConsentRevokedParams {
  [k: string]: number;
  revocationMemoryMs: number;
}

interface ConsentChange extends Ev {
  revoked: boolean;
}

interface Request extends Ev {
  ag: string;
  action: string;
  vendor: string;
}

/** Slice `u:<userId>`: the user's consent changes and the requests to check. */
export interface ActionAfterConsentRevokedState {
  userId: string;
  /** Consent changes (the latest few), sorted. */
  c: ConsentChange[];
  /** Requests waiting for the watermark, sorted. */
  q: Request[];
  /** Revocations already reported (one finding per revocation). */
  rep: string[];
  last: number;
  memory: number;
}

const MAX_CHANGES = 8;
const MAX_PENDING = 32;

/**
 * action_after_consent_revoked: an `action.requested` for a user after `consent.revoked` and before a
 * later `consent.granted` (in event time; a change at the request's very millisecond counts as before
 * it). Scope: user. Each request is checked once the watermark has passed it, so a revocation that
 * arrives up to the lateness late counts. One finding per revocation: its first request. A user with
 * no revocation on record costs no timer: the slice keeps its requests only for the lateness.
 */
export const actionAfterConsentRevoked: Detector<ActionAfterConsentRevokedState, ActionAfterConsentRevokedParams> = settleOverdueFirstPartitionLocal<ActionAfterConsentRevokedState, ActionAfterConsentRevokedParams>({
  kind: 'action_after_consent_revoked',
  severity: 'critical',
  defaults: { revocationMemoryMs: 90 * 86_400_000 },

  keyOf(e) {
    return e.type === 'action.requested' || e.type === 'consent.revoked' || e.type === 'consent.granted' ? `u:${e.userId}` : undefined;
  },

  init() {
    return { userId: '', c: [], q: [], rep: [], last: Number.MIN_SAFE_INTEGER, memory: 0 };
  },

  onEvent(s, e, ctx) {
    s.userId = e.userId;
    s.memory = ctx.params.revocationMemoryMs;
    if (e.ts > s.last) s.last = e.ts;
    if (e.type === 'action.requested') {
      insertEv(s.q, { t: e.ts, id: e.eventId, tr: e.traceId, ag: e.agentId, action: e.action?.name ?? '', vendor: e.action?.vendor ?? '' }, MAX_PENDING);
      // A request that no revocation precedes is kept only while one before it could still arrive.
      if (s.q[0]!.t < s.last - ctx.latenessMs) retain(s.q, (r) => r.t >= s.last - ctx.latenessMs || revocationBefore(s, r) !== undefined);
    } else {
      insertEv(s.c, { t: e.ts, id: e.eventId, tr: e.traceId, revoked: e.type === 'consent.revoked' });
      if (s.c.length > MAX_CHANGES) s.c.shift();
    }
    return s;
  },

  nextDue(s) {
    if (s.c.length === 0) return undefined;
    for (const r of s.q) if (revocationBefore(s, r) !== undefined) return r.t;
    return undefined;
  },

  onWatermark(s, watermark, ctx) {
    while (s.q.length > 0 && s.q[0]!.t <= watermark) {
      const r = s.q.shift()!;
      const latest = revocationBefore(s, r);
      if (latest === undefined) continue;
      s.rep.push(latest.id);
      if (s.rep.length > MAX_CHANGES) s.rep.shift();
      emitDetection(
        ctx,
        { type: 'user', id: s.userId },
        [latest, r],
        `user ${s.userId}: agent ${r.ag} requested ${r.action} at ${r.vendor} ${formatDuration(r.t - latest.t)} after the user revoked consent (${new Date(latest.t).toISOString()}, not granted since); it must not proceed`,
        { observed: 1, threshold: 1, sinceRevokeMs: r.t - latest.t },
        undefined,
        { eventId: r.id, action: r.action, vendor: r.vendor },
      );
    }
    return s;
  },

  expiresAt(s) {
    const latest = s.c[s.c.length - 1];
    const pending = s.q[s.q.length - 1]?.t ?? 0;
    if (latest !== undefined && latest.revoked) return Math.max(pending, latest.t + s.memory);
    return Math.max(pending, latest?.t ?? 0);
  },
});

/**
 * The revocation in force at the request (the latest change at or before it, at most
 * revocationMemoryMs before it), if not yet reported.
 */
function revocationBefore(s: ActionAfterConsentRevokedState, r: Ev): ConsentChange | undefined {
  let latest: ConsentChange | undefined;
  for (const c of s.c) if (c.t <= r.t && (latest === undefined || isBefore(latest, c))) latest = c;
  if (latest === undefined || !latest.revoked || r.t - latest.t > s.memory) return undefined;
  return s.rep.includes(latest.id) ? undefined : latest;
}
