import type { Detector } from '../core/detector.ts';
import { settleOverdueFirstPartitionLocal } from '../shared/settle-overdue.ts';
import { emitDetection, insertEv, isBefore, type Ev } from '../shared/evidence.ts';
import { INTENT_MEMORY_MS } from '../shared/first-offender.ts';
import { intentKeyOf } from '../shared/intent-key.ts';

/** confirmation_mismatch has no parameters. */
export interface ConfirmationMismatchParams {
  [k: string]: number;
}

interface Hashed extends Ev {
  h: string;
}

interface Request extends Hashed {
  ag: string;
  action: string;
  vendor: string;
}

/** Slice `i:<userId>:<intentId>`: the intent's accepted confirmations and the requests to check. */
export interface ConfirmationMismatchState {
  userId: string;
  intentId: string;
  /** Accepted confirmations (the latest few), sorted. */
  c: Hashed[];
  /** Requests waiting for the watermark, sorted. */
  q: Request[];
  done: boolean;
  last: number;
}

const MAX_CONFIRMATIONS = 8;
const MAX_PENDING = 16;

/**
 * confirmation_mismatch: an `action.requested` whose payloadHash differs from that of the intent's
 * accepted confirmation (the latest one at or before the request in event time: a user who
 * re-confirmed a changed payload confirmed the new one). Scope: agent. A request with no accepted
 * confirmation in the 15 min before it is left to unconfirmed_action. A request is checked once the watermark has
 * passed it, so a confirmation arriving up to the lateness late counts. One finding per intent.
 */
export const confirmationMismatch: Detector<ConfirmationMismatchState, ConfirmationMismatchParams> = settleOverdueFirstPartitionLocal<ConfirmationMismatchState, ConfirmationMismatchParams>({
  kind: 'confirmation_mismatch',
  severity: 'critical',
  defaults: {},

  keyOf(e) {
    if (e.payloadHash === undefined) return undefined;
    return e.type === 'confirmation.accepted' || e.type === 'action.requested' ? intentKeyOf(e) : undefined;
  },

  init() {
    return { userId: '', intentId: '', c: [], q: [], done: false, last: Number.MIN_SAFE_INTEGER };
  },

  onEvent(s, e, ctx) {
    s.userId = e.userId;
    s.intentId = e.intentId ?? '';
    if (s.done && e.ts > s.last + INTENT_MEMORY_MS) {
      // Past the slice's expiry: start afresh, as a new slice would.
      s.done = false;
      s.c = [];
      s.q = [];
    }
    if (e.ts > s.last) s.last = e.ts;
    if (s.done) return s;
    const h = e.payloadHash ?? '';
    if (e.type === 'confirmation.accepted') {
      insertEv(s.c, { t: e.ts, id: e.eventId, tr: e.traceId, h });
      if (s.c.length > MAX_CONFIRMATIONS) s.c.shift();
    } else {
      insertEv(s.q, { t: e.ts, id: e.eventId, tr: e.traceId, h, ag: e.agentId, action: e.action?.name ?? '', vendor: e.action?.vendor ?? '' }, MAX_PENDING);
      // With no confirmation on record, a request is kept only while one before it could still arrive.
      if (s.c.length === 0) while (s.q.length > 0 && s.q[0]!.t < s.last - ctx.latenessMs) s.q.shift();
    }
    return s;
  },

  nextDue(s) {
    return s.done || s.c.length === 0 ? undefined : s.q[0]?.t;
  },

  onWatermark(s, watermark, ctx) {
    while (!s.done && s.q.length > 0 && s.q[0]!.t <= watermark) {
      const r = s.q.shift()!;
      let conf: Hashed | undefined;
      for (const c of s.c) if (c.t <= r.t && r.t - c.t <= INTENT_MEMORY_MS && (conf === undefined || isBefore(conf, c))) conf = c;
      if (conf === undefined || conf.h === r.h) continue;
      s.done = true;
      s.q = [];
      emitDetection(
        ctx,
        { type: 'agent', id: r.ag },
        [conf, r],
        `agent ${r.ag} requested ${r.action} at ${r.vendor} with payload ${r.h}, but user ${s.userId} confirmed ${conf.h} (intent ${s.intentId}); the action is not what the user agreed to`,
        { observed: 1, threshold: 1 },
        undefined,
        { eventId: r.id, action: r.action, vendor: r.vendor },
      );
    }
    return s;
  },

  expiresAt(s) {
    // Without a confirmation, the slice is needed only until the watermark passes its latest request.
    return s.done || s.c.length > 0 ? s.last + INTENT_MEMORY_MS : s.last;
  },
});
