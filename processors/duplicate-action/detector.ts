import type { Detector } from '../core/detector.ts';
import { settleOverdueFirstPartitionLocal } from '../shared/settle-overdue.ts';
import { emitDetection, formatDuration } from '../shared/evidence.ts';
import { addPairEntry, pairExpiresAt, pairNextDue, settlePair, type PairEntry, type PairSlice } from '../shared/conflicting-pair.ts';

/**
 * duplicate_action parameters.
 * - `windowMs`: two successes of the same state-changing action and payload within this window raise it.
 */
export interface DuplicateActionParams {
  [k: string]: number;
  windowMs: number;
}

/** Slice `d:<userId>:<action.name>:<action.vendor>:<payloadHash>`: the successes of one payload. */
export interface DuplicateActionState extends PairSlice {
  userId: string;
  action: string;
  vendor: string;
}

/**
 * Two successes are one action done twice unless the vendor says they are the same object (same
 * vendorRef: it replayed its stored response) or they share an idempotency key and no vendorRef
 * tells them apart. A success without an idempotency key has a key of its own.
 */
export function isDuplicate(a: PairEntry, b: PairEntry): boolean {
  if (a.r !== undefined && a.r === b.r) return false;
  if (a.k !== b.k) return true;
  return a.r !== undefined && b.r !== undefined;
}

/**
 * duplicate_action: two `action.succeeded` of a state-changing action for the same userId,
 * action.name, action.vendor and payloadHash within windowMs, under different idempotency keys, or
 * under the same key with different outcome.vendorRef. Scope: user. One finding per episode (a
 * third success in the window belongs to it).
 */
export const duplicateAction: Detector<DuplicateActionState, DuplicateActionParams> = settleOverdueFirstPartitionLocal<DuplicateActionState, DuplicateActionParams>({
  kind: 'duplicate_action',
  severity: 'critical',
  defaults: { windowMs: 600_000 },

  keyOf(e) {
    if (e.type !== 'action.succeeded' || e.action === undefined || !e.action.stateChanging || e.payloadHash === undefined) return undefined;
    return `d:${e.userId}:${e.action.name}:${e.action.vendor}:${e.payloadHash}`;
  },

  init() {
    return { l: [], done: false, W: 0, last: Number.MIN_SAFE_INTEGER, due: undefined, userId: '', action: '', vendor: '' };
  },

  onEvent(s, e, ctx) {
    s.userId = e.userId;
    s.action = e.action?.name ?? '';
    s.vendor = e.action?.vendor ?? '';
    const x: PairEntry = { t: e.ts, id: e.eventId, tr: e.traceId, k: e.idempotencyKey ?? `#${e.eventId}`, ag: e.agentId };
    if (e.outcome?.vendorRef !== undefined) x.r = e.outcome.vendorRef;
    addPairEntry(s, x, ctx.params.windowMs, isDuplicate);
    return s;
  },

  nextDue: pairNextDue,

  onWatermark(s, watermark, ctx) {
    const pair = settlePair(s, watermark, isDuplicate);
    if (pair !== undefined) {
      const [a, b] = pair;
      const how = a.k === b.k ? `under one idempotency key with vendor refs ${a.r} and ${b.r}` : `under different idempotency keys`;
      emitDetection(
        ctx,
        { type: 'user', id: s.userId },
        [a, b],
        `user ${s.userId}: agent ${b.ag} did ${s.action} at ${s.vendor} twice with the same payload ${formatDuration(Math.max(0, b.t - a.t))} apart ${how} (window ${formatDuration(s.W)}); one of them likely needs compensation`,
        { observed: 2, threshold: 2, windowMs: s.W, gapMs: b.t - a.t },
        undefined,
        { eventId: b.id, action: s.action, vendor: s.vendor },
      );
    }
    return s;
  },

  expiresAt: pairExpiresAt,
});
