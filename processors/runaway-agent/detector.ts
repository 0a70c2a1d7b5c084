import type { Detector } from '../core/detector.ts';
import { settleOverdueFirstPartitionLocal } from '../shared/settle-overdue.ts';
import { addToWindow, closeWindow, ensureWindow, windowExpiresAt, windowNextDue, type BucketWindow } from '../shared/bucket-window.ts';
import { boundEvidence, emitDetection, evOf, formatDuration, MAX_EVIDENCE } from '../shared/evidence.ts';

/**
 * runaway_agent parameters.
 * - `maxActions`: first-attempt state-changing requests by one agent for one user in `windowMs`.
 * - `windowMs`: the sliding window, event time (it slides by 1/60 of itself).
 */
export interface RunawayAgentParams {
  [k: string]: number;
  maxActions: number;
  windowMs: number;
}

/** Slice `r:<agentId>:<userId>`: a window of one agent's new actions for one user. */
export interface RunawayAgentState {
  agentId: string;
  userId: string;
  w: BucketWindow | null;
  maxActions: number;
}

/**
 * runaway_agent: one agent makes ≥ maxActions first-attempt state-changing `action.requested` for
 * one user in windowMs. Scope: user. One finding per episode; the evidence is maxActions of the
 * requests in the window (the earliest ones and the one that completed the count).
 */
export const runawayAgent: Detector<RunawayAgentState, RunawayAgentParams> = settleOverdueFirstPartitionLocal<RunawayAgentState, RunawayAgentParams>({
  kind: 'runaway_agent',
  windowField: 'w',
  severity: 'critical',
  defaults: { maxActions: 20, windowMs: 60_000 },

  keyOf(e) {
    return e.type === 'action.requested' && e.attempt === 1 && e.action?.stateChanging === true ? `r:${e.agentId}:${e.userId}` : undefined;
  },

  init() {
    return { agentId: '', userId: '', w: null, maxActions: 0 };
  },

  onEvent(s, e, ctx) {
    const p = ctx.params;
    s.agentId = e.agentId;
    s.userId = e.userId;
    s.maxActions = p.maxActions;
    s.w = ensureWindow(s.w, p.windowMs);
    addToWindow(s.w, e.ts, evOf(e), { sample: true, unique: ctx.eventsUnique }, Math.min(p.maxActions, MAX_EVIDENCE));
    return s;
  },

  nextDue(s) {
    return s.w === null ? undefined : windowNextDue(s.w);
  },

  onWatermark(s, watermark, ctx) {
    if (s.w === null) return s;
    const w = s.w;
    closeWindow(w, watermark, (x) => x.n >= s.maxActions, (x, evidence) => {
      emitDetection(
        ctx,
        { type: 'user', id: s.userId },
        boundEvidence(evidence, Math.min(s.maxActions, MAX_EVIDENCE)),
        `user ${s.userId}: agent ${s.agentId} started ${x.n} state-changing actions in ${formatDuration(w.W)} (threshold ${s.maxActions}); the agent may be looping on this user's behalf`,
        { observed: x.n, threshold: s.maxActions, windowMs: w.W },
      );
    });
    return s;
  },

  expiresAt(s) {
    return s.w === null ? 0 : windowExpiresAt(s.w);
  },
});
