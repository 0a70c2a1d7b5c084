import type { Detector } from '../core/detector.ts';
import { settleOverdueFirstPartitionLocal } from '../shared/settle-overdue.ts';
import { emitDetection, evOf, formatDuration, isBefore, type Ev } from '../shared/evidence.ts';
import { INTENT_MEMORY_MS } from '../shared/first-offender.ts';

/**
 * compensation_failed parameters.
 * - `timeoutMs`: a `compensation.requested` with no `compensation.succeeded` within this long raises it.
 */
export interface CompensationFailedParams {
  [k: string]: number;
  timeoutMs: number;
}

interface Failure extends Ev {
  status: string;
  code?: string;
}

/** Slice `c:<userId>:<forEventId>:<kind>`: one compensation and its outcomes. */
export interface CompensationFailedState {
  userId: string;
  forEventId: string;
  kind: string;
  vendor: string;
  agentId: string;
  /** The earliest request, and the deadline its success must meet. */
  req?: Ev & { due: number };
  /** Event times of successes (the earliest few). */
  ok: number[];
  /** The earliest failure. */
  fail?: Failure;
  done: boolean;
  last: number;
}

const MAX_SUCCESSES = 4;

/**
 * compensation_failed: a `compensation.failed`, or a `compensation.requested` with no
 * `compensation.succeeded` within timeoutMs (event time). Whichever comes first in event time is
 * reported, once the watermark has passed it. Scope: vendor. One finding per compensation
 * (userId, compensation.forEventId and compensation.kind).
 */
export const compensationFailed: Detector<CompensationFailedState, CompensationFailedParams> = settleOverdueFirstPartitionLocal<CompensationFailedState, CompensationFailedParams>({
  kind: 'compensation_failed',
  severity: 'critical',
  defaults: { timeoutMs: 600_000 },

  keyOf(e) {
    if (e.compensation === undefined) return undefined;
    if (e.type !== 'compensation.requested' && e.type !== 'compensation.succeeded' && e.type !== 'compensation.failed') return undefined;
    return `c:${e.userId}:${e.compensation.forEventId}:${e.compensation.kind}`;
  },

  init() {
    return { userId: '', forEventId: '', kind: '', vendor: '', agentId: '', ok: [], done: false, last: Number.MIN_SAFE_INTEGER };
  },

  onEvent(s, e, ctx) {
    s.userId = e.userId;
    s.forEventId = e.compensation?.forEventId ?? '';
    s.kind = e.compensation?.kind ?? '';
    s.vendor = e.action?.vendor ?? s.vendor;
    s.agentId = e.agentId;
    if (e.ts > compensationFailed.expiresAt(s)) {
      // Past the slice's expiry: start afresh, as a new slice would.
      s.done = false;
      s.req = undefined;
      s.ok = [];
      s.fail = undefined;
    }
    if (e.ts > s.last) s.last = e.ts;
    if (s.done) return s;
    const ev = evOf(e);
    if (e.type === 'compensation.requested') {
      if (s.req === undefined || isBefore(ev, s.req)) s.req = { ...ev, due: e.ts + ctx.params.timeoutMs };
    } else if (e.type === 'compensation.succeeded') {
      if (!s.ok.includes(e.ts)) {
        s.ok.push(e.ts);
        s.ok.sort((a, b) => a - b);
        if (s.ok.length > MAX_SUCCESSES) s.ok.pop();
      }
    } else if (s.fail === undefined || isBefore(ev, s.fail)) {
      s.fail = { ...ev, status: e.outcome?.status ?? 'error' };
      if (e.outcome?.errorCode !== undefined) s.fail.code = e.outcome.errorCode;
    }
    return s;
  },

  nextDue(s) {
    if (s.done) return undefined;
    const a = s.fail?.t;
    const req = s.req;
    // A request that succeeded in time can no longer time out.
    const b = req === undefined || s.ok.some((t) => t <= req.due) ? undefined : req.due;
    return a === undefined ? b : b === undefined ? a : Math.min(a, b);
  },

  onWatermark(s, watermark, ctx) {
    if (s.done) return s;
    const { req, fail } = s;
    const timedOut = req !== undefined && req.due <= watermark && !s.ok.some((t) => t <= req.due) && (fail === undefined || fail.t > req.due);
    const what = `${s.kind} compensation for event ${s.forEventId} (user ${s.userId}, agent ${s.agentId})`;
    if (timedOut) {
      s.done = true;
      emitDetection(
        ctx,
        { type: 'vendor', id: s.vendor },
        [req],
        `vendor ${s.vendor}: ${what} did not succeed within ${formatDuration(req.due - req.t)}; the user may still be charged or booked: handle it by hand`,
        { observed: 0, threshold: 1, windowMs: req.due - req.t },
      );
    } else if (fail !== undefined && fail.t <= watermark) {
      s.done = true;
      const code = fail.code === undefined ? '' : `, ${fail.code}`;
      emitDetection(
        ctx,
        { type: 'vendor', id: s.vendor },
        req !== undefined && req.t <= fail.t ? [req, fail] : [fail],
        `vendor ${s.vendor}: ${what} failed (${fail.status}${code}); the user may still be charged or booked: handle it by hand`,
        { observed: 1, threshold: 1 },
      );
    }
    return s;
  },

  expiresAt(s) {
    // Successes and failures are remembered for a while: a request may arrive after them.
    return Math.max(s.last, s.req?.due ?? 0) + INTENT_MEMORY_MS;
  },
});
