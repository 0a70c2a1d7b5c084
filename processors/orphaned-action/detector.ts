import type { Detector } from '../core/detector.ts';
import { settleOverdueFirstPartitionLocal } from '../shared/settle-overdue.ts';
import { emitDetection, formatDuration, insertEv, retain, type Ev } from '../shared/evidence.ts';
import { INTENT_MEMORY_MS } from '../shared/first-offender.ts';
import { intentKeyOf } from '../shared/intent-key.ts';

/**
 * orphaned_action parameters.
 * - `timeoutMs`: a request with no outcome for its intent and attempt within this long is orphaned.
 */
export interface OrphanedActionParams {
  [k: string]: number;
  timeoutMs: number;
}

interface Request extends Ev {
  a: number;
  ag: string;
  action: string;
  vendor: string;
  /** Event time by which its outcome must have happened. */
  due: number;
}

/** Slice `i:<userId>:<intentId>`: the intent's requests waiting for an outcome. */
export interface OrphanedActionState {
  userId: string;
  intentId: string;
  /** Requests not yet settled, sorted. */
  q: Request[];
  /** Outcomes seen: [attempt (0: not given), event time] (the latest few). */
  o: [number, number][];
  done: boolean;
  last: number;
}

const MAX_PENDING = 16;
const MAX_OUTCOMES = 32;

/**
 * orphaned_action: an `action.requested` gets no `action.succeeded` or `action.failed` for the same
 * intent and attempt within timeoutMs (in event time). Decided when the watermark passes the
 * deadline. Scope: vendor. One finding per intent (its first orphaned attempt).
 */
export const orphanedAction: Detector<OrphanedActionState, OrphanedActionParams> = settleOverdueFirstPartitionLocal<OrphanedActionState, OrphanedActionParams>({
  kind: 'orphaned_action',
  severity: 'warning',
  defaults: { timeoutMs: 300_000 },

  keyOf(e) {
    return e.type === 'action.requested' || e.type === 'action.succeeded' || e.type === 'action.failed' ? intentKeyOf(e) : undefined;
  },

  init() {
    return { userId: '', intentId: '', q: [], o: [], done: false, last: Number.MIN_SAFE_INTEGER };
  },

  onEvent(s, e, ctx) {
    s.userId = e.userId;
    s.intentId = e.intentId ?? '';
    if (e.ts > s.last + INTENT_MEMORY_MS && s.q.length === 0) {
      // Past the slice's expiry: start afresh, as a new slice would.
      s.done = false;
      s.o = [];
    }
    if (e.ts > s.last) s.last = e.ts;
    if (s.done) return s;
    // An outcome without an attempt answers whichever attempt of the intent (0 stands for any).
    const a = e.attempt ?? (e.type === 'action.requested' ? 1 : 0);
    if (e.type === 'action.requested') {
      const due = e.ts + ctx.params.timeoutMs;
      if (!s.o.some(([x, t]) => (x === a || x === 0) && answers(t, e.ts, due))) {
        insertEv(s.q, { t: e.ts, id: e.eventId, tr: e.traceId, a, ag: e.agentId, action: e.action?.name ?? '', vendor: e.action?.vendor ?? '', due }, MAX_PENDING);
      }
    } else {
      if (!s.o.some(([x, t]) => x === a && t === e.ts)) {
        s.o.push([a, e.ts]);
        if (s.o.length > MAX_OUTCOMES) s.o.shift();
      }
      // An outcome in time settles its request now: it can no longer be orphaned.
      retain(s.q, (r) => !((a === r.a || a === 0) && answers(e.ts, r.t, r.due)));
    }
    return s;
  },

  nextDue(s) {
    if (s.done) return undefined;
    let due: number | undefined;
    for (const r of s.q) if (due === undefined || r.due < due) due = r.due;
    return due;
  },

  onWatermark(s, watermark, ctx) {
    if (s.done) return s;
    // Requests in event-time order: the first orphaned one is the finding.
    for (let i = 0; i < s.q.length; i++) {
      const r = s.q[i]!;
      if (r.due > watermark) continue;
      s.q.splice(i--, 1);
      if (s.o.some(([a, t]) => (a === r.a || a === 0) && answers(t, r.t, r.due))) continue;
      s.done = true;
      s.q = [];
      emitDetection(
        ctx,
        { type: 'vendor', id: r.vendor },
        [r],
        `vendor ${r.vendor}: ${r.action} requested by agent ${r.ag} (user ${s.userId}, intent ${s.intentId}, attempt ${r.a}) got no success or failure within ${formatDuration(r.due - r.t)}; it may have happened without the agent knowing`,
        { observed: 0, threshold: 1, windowMs: r.due - r.t, attempt: r.a },
      );
      break;
    }
    return s;
  },

  expiresAt(s) {
    // Outcomes are remembered for a while, so that a redelivered request finds its answer.
    let exp = s.last + INTENT_MEMORY_MS;
    for (const r of s.q) if (r.due > exp) exp = r.due;
    return exp;
  },
});

/**
 * Whether an outcome at `t` answers a request made at `requested` and due by `due`: not later than
 * the deadline, and not from long before the request (clock skew tolerated up to 15 min).
 */
function answers(t: number, requested: number, due: number): boolean {
  return t <= due && t >= requested - INTENT_MEMORY_MS;
}
