import type { Detector } from '../core/detector.ts';
import { settleOverdueFirst } from '../shared/settle-overdue.ts';
import { addToWindow, closeWindow, ensureWindow, windowExpiresAt, windowNextDue, type BucketWindow } from '../shared/bucket-window.ts';
import { emitDetection, evOf, formatDuration, formatPercent } from '../shared/evidence.ts';

/**
 * vendor_failure_rate parameters.
 * - `minOutcomes`: at least this many outcomes (`action.succeeded` + `action.failed`) in the window.
 * - `failureRatio`: failures (`action.failed`) / outcomes at or above this raises it.
 * - `slowRatio`: outcomes slower than `slowMs` / outcomes at or above this raises it too.
 * - `slowMs`: an outcome whose outcome.latencyMs is above this is slow.
 * - `windowMs`: the sliding window, event time (it slides by 1/60 of itself).
 */
export interface VendorFailureRateParams {
  [k: string]: number;
  minOutcomes: number;
  failureRatio: number;
  slowRatio: number;
  slowMs: number;
  windowMs: number;
}

/** Slice `v:<vendor>`: a window of the vendor's outcomes. */
export interface VendorFailureRateState {
  vendor: string;
  w: BucketWindow | null;
  minOutcomes: number;
  failureRatio: number;
  slowRatio: number;
  slowMs: number;
}

/** Failed or slow outcomes kept as evidence per bucket. */
const SAMPLES_PER_BUCKET = 5;

/**
 * vendor_failure_rate: for one vendor, at least failureRatio of at least minOutcomes outcomes in
 * windowMs are failures, or at least slowRatio take longer than slowMs. Scope: vendor. One finding
 * per episode; the evidence is a sample of the failed or slow outcomes in the window (≤ 50); the
 * subjects are the distinct agents and users of those outcomes (≤ 32 each), for the breaker quorum.
 */
export const vendorFailureRate: Detector<VendorFailureRateState, VendorFailureRateParams> = settleOverdueFirst<VendorFailureRateState, VendorFailureRateParams>({
  kind: 'vendor_failure_rate',
  windowField: 'w',
  severity: 'warning',
  defaults: { minOutcomes: 20, failureRatio: 0.5, slowRatio: 0.5, slowMs: 5000, windowMs: 60_000 },

  keyOf(e) {
    return (e.type === 'action.succeeded' || e.type === 'action.failed') && e.action !== undefined ? `v:${e.action.vendor}` : undefined;
  },

  init() {
    return { vendor: '', w: null, minOutcomes: 0, failureRatio: 1, slowRatio: 1, slowMs: 0 };
  },

  onEvent(s, e, ctx) {
    const p = ctx.params;
    s.vendor = e.action?.vendor ?? '';
    s.minOutcomes = p.minOutcomes;
    s.failureRatio = p.failureRatio;
    s.slowRatio = p.slowRatio;
    s.slowMs = p.slowMs;
    s.w = ensureWindow(s.w, p.windowMs);
    const failed = e.type === 'action.failed';
    const slow = (e.outcome?.latencyMs ?? 0) > p.slowMs;
    const who = failed || slow ? { agent: e.agentId, user: e.userId } : undefined;
    addToWindow(s.w, e.ts, evOf(e), { f: failed, g: slow, sample: failed || slow, who, unique: ctx.eventsUnique }, SAMPLES_PER_BUCKET);
    return s;
  },

  nextDue(s) {
    return s.w === null ? undefined : windowNextDue(s.w);
  },

  onWatermark(s, watermark, ctx) {
    if (s.w === null) return s;
    const w = s.w;
    const failing = (x: { n: number; f: number }) => x.f >= s.failureRatio * x.n;
    const slow = (x: { n: number; g: number }) => x.g >= s.slowRatio * x.n;
    closeWindow(w, watermark, (x) => x.n >= s.minOutcomes && (failing(x) || slow(x)), (x, evidence, subjects) => {
      const parts: string[] = [];
      if (failing(x)) parts.push(`${x.f} of ${x.n} outcomes failed (${formatPercent(x.f / x.n)}; threshold ${formatPercent(s.failureRatio)})`);
      if (slow(x)) parts.push(`${x.g} of ${x.n} outcomes took longer than ${formatDuration(s.slowMs)} (${formatPercent(x.g / x.n)}; threshold ${formatPercent(s.slowRatio)})`);
      const fail = failing(x);
      emitDetection(
        ctx,
        { type: 'vendor', id: s.vendor },
        evidence,
        `vendor ${s.vendor}: ${parts.join(' and ')} in ${formatDuration(w.W)}, at least ${s.minOutcomes} outcomes needed`,
        {
          // observed is in the threshold's unit (a ratio); the counts are beside it
          observed: Math.round(((fail ? x.f : x.g) / x.n) * 10_000) / 10_000,
          total: x.n,
          threshold: fail ? s.failureRatio : s.slowRatio,
          minCount: s.minOutcomes,
          windowMs: w.W,
          failed: x.f,
          slow: x.g,
        },
        // who saw the failures: the breaker policy's quorum opens the vendor only when enough did
        subjects,
      );
    });
    return s;
  },

  expiresAt(s) {
    return s.w === null ? 0 : windowExpiresAt(s.w);
  },
});
