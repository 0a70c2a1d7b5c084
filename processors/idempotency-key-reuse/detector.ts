import type { Detector } from '../core/detector.ts';
import { settleOverdueFirstPartitionLocal } from '../shared/settle-overdue.ts';
import { emitDetection, formatDuration } from '../shared/evidence.ts';
import { addPairEntry, pairExpiresAt, pairNextDue, settlePair, type PairEntry, type PairSlice } from '../shared/conflicting-pair.ts';

/**
 * idempotency_key_reuse parameters.
 * - `windowMs`: two payloads under one user's idempotency key within this window raise it.
 */
export interface IdempotencyKeyReuseParams {
  [k: string]: number;
  windowMs: number;
}

/** Slice `k:<userId>:<idempotencyKey>`: the requests made under one key. */
export interface IdempotencyKeyReuseState extends PairSlice {
  userId: string;
  key: string;
}

const differentPayloads = (a: PairEntry, b: PairEntry) => a.h !== b.h;

/**
 * idempotency_key_reuse: one userId + idempotencyKey is requested (`action.requested`) with two
 * different payloadHash values within windowMs. Retries with the same payload are not. Scope: agent
 * (of the request that completed the pair). One finding per key per episode.
 */
export const idempotencyKeyReuse: Detector<IdempotencyKeyReuseState, IdempotencyKeyReuseParams> = settleOverdueFirstPartitionLocal<IdempotencyKeyReuseState, IdempotencyKeyReuseParams>({
  kind: 'idempotency_key_reuse',
  severity: 'critical',
  defaults: { windowMs: 86_400_000 },

  keyOf(e) {
    return e.type === 'action.requested' && e.idempotencyKey !== undefined && e.payloadHash !== undefined
      ? `k:${e.userId}:${e.idempotencyKey}`
      : undefined;
  },

  init() {
    return { l: [], done: false, W: 0, last: Number.MIN_SAFE_INTEGER, due: undefined, userId: '', key: '' };
  },

  onEvent(s, e, ctx) {
    s.userId = e.userId;
    s.key = e.idempotencyKey ?? '';
    addPairEntry(s, { t: e.ts, id: e.eventId, tr: e.traceId, h: e.payloadHash, ag: e.agentId }, ctx.params.windowMs, differentPayloads);
    return s;
  },

  nextDue: pairNextDue,

  onWatermark(s, watermark, ctx) {
    const pair = settlePair(s, watermark, differentPayloads);
    if (pair !== undefined) {
      const [a, b] = pair;
      const gap = formatDuration(Math.max(0, b.t - a.t));
      emitDetection(
        ctx,
        { type: 'agent', id: b.ag },
        [a, b],
        `agent ${b.ag} reused idempotency key ${s.key} of user ${s.userId} for a different payload (${a.h} then ${b.h}, ${gap} apart, window ${formatDuration(s.W)}); the vendor may return the first result for the second request`,
        { observed: 2, threshold: 2, windowMs: s.W, gapMs: b.t - a.t },
      );
    }
    return s;
  },

  expiresAt: pairExpiresAt,
});
