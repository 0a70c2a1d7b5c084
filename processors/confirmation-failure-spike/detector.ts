import type { Detector } from '../core/detector.ts';
import { settleOverdueFirst } from '../shared/settle-overdue.ts';
import { addToWindow, closeWindow, ensureWindow, windowExpiresAt, windowNextDue, type BucketWindow } from '../shared/bucket-window.ts';
import { emitDetection, evOf, formatDuration, formatPercent } from '../shared/evidence.ts';

/**
 * confirmation_failure_spike parameters.
 * - `minRequested`: at least this many `confirmation.requested` in the window before the ratio counts.
 * - `failureRatio`: (rejected + expired) / requested at or above this raises it.
 * - `windowMs`: the sliding window, event time (it slides by 1/60 of itself).
 */
export interface ConfirmationFailureSpikeParams {
  [k: string]: number;
  minRequested: number;
  failureRatio: number;
  windowMs: number;
}

/** Slice `a:<agentId>`: a window of the agent's confirmations. */
export interface ConfirmationFailureSpikeState {
  agentId: string;
  w: BucketWindow | null;
  minRequested: number;
  failureRatio: number;
}

/** Failures kept as evidence per bucket. */
const SAMPLES_PER_BUCKET = 5;

/**
 * confirmation_failure_spike: for one agent, `confirmation.rejected` + `confirmation.expired` are at
 * least failureRatio of at least minRequested `confirmation.requested` in windowMs. Scope: agent.
 * One finding per episode; the evidence is a sample of the failures in the window (≤ 50).
 */
export const confirmationFailureSpike: Detector<ConfirmationFailureSpikeState, ConfirmationFailureSpikeParams> = settleOverdueFirst<ConfirmationFailureSpikeState, ConfirmationFailureSpikeParams>({
  kind: 'confirmation_failure_spike',
  windowField: 'w',
  severity: 'warning',
  defaults: { minRequested: 20, failureRatio: 0.4, windowMs: 600_000 },

  keyOf(e) {
    return e.type === 'confirmation.requested' || e.type === 'confirmation.rejected' || e.type === 'confirmation.expired'
      ? `a:${e.agentId}`
      : undefined;
  },

  init() {
    return { agentId: '', w: null, minRequested: 0, failureRatio: 1 };
  },

  onEvent(s, e, ctx) {
    const p = ctx.params;
    s.agentId = e.agentId;
    s.minRequested = p.minRequested;
    s.failureRatio = p.failureRatio;
    s.w = ensureWindow(s.w, p.windowMs);
    const failed = e.type !== 'confirmation.requested';
    addToWindow(s.w, e.ts, evOf(e), { n: !failed, f: failed, sample: failed, unique: ctx.eventsUnique }, SAMPLES_PER_BUCKET);
    return s;
  },

  nextDue(s) {
    return s.w === null ? undefined : windowNextDue(s.w);
  },

  onWatermark(s, watermark, ctx) {
    if (s.w === null) return s;
    const w = s.w;
    closeWindow(w, watermark, (x) => x.n >= s.minRequested && x.f >= s.failureRatio * x.n, (x, evidence) => {
      const ratio = x.f / x.n;
      emitDetection(
        ctx,
        { type: 'agent', id: s.agentId },
        evidence,
        `agent ${s.agentId}: ${x.f} of ${x.n} confirmations requested in ${formatDuration(w.W)} were rejected or expired (${formatPercent(ratio)}; threshold ${formatPercent(s.failureRatio)} of at least ${s.minRequested}); users are refusing what the agent proposes`,
        { observed: x.f, total: x.n, ratio, threshold: s.failureRatio, minCount: s.minRequested, windowMs: w.W },
      );
    });
    return s;
  },

  expiresAt(s) {
    return s.w === null ? 0 : windowExpiresAt(s.w);
  },
});
