import type { Detector } from '../core/detector.ts';
import { settleOverdueFirst } from '../shared/settle-overdue.ts';
import type { ValidEvent } from '../core/events.ts';
import { addToWindow, closeWindow, ensureWindow, windowExpiresAt, windowNextDue, type BucketWindow } from '../shared/bucket-window.ts';
import { boundEvidence, emitDetection, evOf, formatDuration, isBefore, MAX_EVIDENCE, type Ev } from '../shared/evidence.ts';

/**
 * retry_spike parameters.
 * - `maxRetries`: retries (`action.requested` with attempt > 1) by one agent in `windowMs` that raise it.
 * - `windowMs`: the sliding window, event time (it slides by 1/60 of itself).
 * - `maxAttempt`: one intent reaching this attempt raises it too.
 */
export interface RetrySpikeParams {
  [k: string]: number;
  maxRetries: number;
  windowMs: number;
  maxAttempt: number;
}

/** Per-intent attempt tracking: the earliest event at or over maxAttempt. */
interface IntentAttempt {
  /** userId/intentId. */
  k: string;
  intentId: string;
  userId: string;
  e: Ev;
  a: number;
  /** Fired: later attempts of the intent belong to the same episode. */
  done: boolean;
  /** Latest event time seen for the intent at or over maxAttempt. */
  last: number;
  maxAttempt: number;
}

/** Slice `a:<agentId>`: a window of the agent's retries and intents at the attempt limit. */
export interface RetrySpikeState {
  agentId: string;
  w: BucketWindow | null;
  maxRetries: number;
  it: IntentAttempt[];
  /** Intents last seen before this event time are forgotten: later events older than it are ignored. */
  floor: number;
}

/** Intents tracked at once per agent; the oldest settled ones go first. */
const MAX_INTENTS = 256;

/**
 * retry_spike: an agent makes ≥ maxRetries retries in any windowMs, or one intent reaches
 * attempt ≥ maxAttempt. Scope: agent. One finding per episode: a storm that goes on extends its
 * episode; a new finding needs a crossing after a whole window without one. Each intent over the
 * attempt limit is one finding.
 */
export const retrySpike: Detector<RetrySpikeState, RetrySpikeParams> = settleOverdueFirst<RetrySpikeState, RetrySpikeParams>({
  kind: 'retry_spike',
  windowField: 'w',
  severity: 'warning',
  defaults: { maxRetries: 30, windowMs: 60_000, maxAttempt: 6 },

  keyOf(e) {
    return e.type === 'action.requested' && e.attempt !== undefined && e.attempt > 1 ? `a:${e.agentId}` : undefined;
  },

  init() {
    return { agentId: '', w: null, maxRetries: 0, it: [], floor: Number.MIN_SAFE_INTEGER };
  },

  onEvent(s, e, ctx) {
    const p = ctx.params;
    s.agentId = e.agentId;
    s.maxRetries = p.maxRetries;
    s.w = ensureWindow(s.w, p.windowMs);
    const ev = evOf(e);
    const attempt = e.attempt ?? 1;
    addToWindow(s.w, e.ts, ev, { sample: true, peak: attempt, peakLabel: e.intentId, unique: ctx.eventsUnique }, Math.min(p.maxRetries, MAX_EVIDENCE));
    if (attempt >= p.maxAttempt && e.ts >= s.floor) trackIntent(s, e, ev, attempt, p.maxAttempt);
    // By the watermark, not this event's time: with partitions far apart (a backlog), an agent's events
    // of the same minutes arrive hours apart, and none may be ignored for being older than another's.
    pruneIntents(s, (ctx.watermark ?? e.ts - ctx.latenessMs) - p.windowMs - ctx.latenessMs);
    return s;
  },

  nextDue(s) {
    let due = s.w === null ? undefined : windowNextDue(s.w);
    for (const x of s.it) if (!x.done && (due === undefined || x.e.t < due)) due = x.e.t;
    return due;
  },

  onWatermark(s, watermark, ctx) {
    const pending = s.it.filter((x) => !x.done && x.e.t <= watermark).sort((a, b) => (isBefore(a.e, b.e) ? -1 : 1));
    for (const x of pending) {
      x.done = true;
      emitDetection(
        ctx,
        { type: 'agent', id: s.agentId },
        [x.e],
        `agent ${s.agentId}: intent ${x.intentId} of user ${x.userId} reached attempt ${x.a} (limit ${x.maxAttempt}); the agent is retrying one action over and over`,
        { observed: x.a, threshold: x.maxAttempt },
      );
    }
    if (s.w !== null) {
      const w = s.w;
      closeWindow(w, watermark, (sums) => sums.n >= s.maxRetries, (sums, evidence) => {
        const top = sums.peakLabel === undefined ? '' : `; top intent ${sums.peakLabel} reached attempt ${sums.peak}`;
        emitDetection(
          ctx,
          { type: 'agent', id: s.agentId },
          boundEvidence(evidence, Math.min(s.maxRetries, MAX_EVIDENCE)),
          `agent ${s.agentId} made ${sums.n} retries in ${formatDuration(w.W)} (threshold ${s.maxRetries})${top}`,
          { observed: sums.n, threshold: s.maxRetries, windowMs: w.W, topAttempt: sums.peak },
        );
      });
    }
    return s;
  },

  expiresAt(s) {
    let exp = s.w === null ? 0 : windowExpiresAt(s.w);
    for (const x of s.it) exp = Math.max(exp, x.last + (s.w?.W ?? 0));
    return exp;
  },
});

/**
 * Files an attempt at or over the limit in its intent's episode. An episode ends after a whole window
 * without such an attempt (event time): the next one starts a new episode, as if the slice had expired.
 * All of an intent's events come from one input partition (the input is keyed by userId), in its
 * order, so the gap is known on arrival; the earlier episode stays until the watermark reports it
 * (live, a slower partition can hold the watermark back for hours: it must not be merged or lost).
 */
function trackIntent(s: RetrySpikeState, e: ValidEvent, ev: Ev, attempt: number, maxAttempt: number): void {
  const k = `${e.userId}/${e.intentId}`;
  let x: IntentAttempt | undefined;
  for (const y of s.it) if (y.k === k && (x === undefined || y.last > x.last)) x = y;
  const fresh = (): IntentAttempt => ({ k, intentId: e.intentId ?? '', userId: e.userId, e: ev, a: attempt, done: false, last: e.ts, maxAttempt });
  if (x === undefined) {
    s.it.push(fresh());
    return;
  }
  if (e.ts > x.last + (s.w?.W ?? 0)) {
    // A whole window after the episode's last attempt: a new episode. A reported one is replaced.
    if (x.done) s.it.splice(s.it.indexOf(x), 1, fresh());
    else s.it.push(fresh());
    return;
  }
  if (e.ts > x.last) x.last = e.ts;
  if (!x.done && isBefore(ev, x.e)) {
    x.e = ev;
    x.a = attempt;
  }
}

function pruneIntents(s: RetrySpikeState, before: number): void {
  if (!s.it.some((x) => x.done && x.last < before) && s.it.length <= MAX_INTENTS) return;
  s.floor = Math.max(s.floor, before);
  s.it = s.it.filter((x) => !x.done || x.last >= before);
  if (s.it.length > MAX_INTENTS) {
    s.it.sort((a, b) => Number(a.done) - Number(b.done) || b.last - a.last);
    for (const x of s.it.splice(MAX_INTENTS)) s.floor = Math.max(s.floor, x.last + 1);
  }
}
