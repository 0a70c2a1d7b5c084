import type { Detector } from '../core/detector.ts';
import { settleOverdueFirstPartitionLocal } from '../shared/settle-overdue.ts';
import { emitDetection, type Ev } from '../shared/evidence.ts';
import { INTENT_MEMORY_MS, noteOffence, offenceDue, settleOffence, type OffenderSlice } from '../shared/first-offender.ts';
import { intentKeyOf } from '../shared/intent-key.ts';

/** missing_idempotency_key has no parameters: every state-changing request needs a key. */
export interface MissingIdempotencyKeyParams {
  [k: string]: number;
}

interface Request extends Ev {
  ag: string;
  action: string;
  vendor: string;
  attempt: number;
}

/** Slice `i:<userId>:<intentId>`: the intent's first request without a key. */
export interface MissingIdempotencyKeyState extends OffenderSlice<Request> {
  userId: string;
  intentId: string;
}

/**
 * missing_idempotency_key: a state-changing `action.requested` without idempotencyKey. Scope: agent.
 * One finding per intent (its retries without a key belong to it); the evidence is the intent's
 * first such request.
 */
export const missingIdempotencyKey: Detector<MissingIdempotencyKeyState, MissingIdempotencyKeyParams> = settleOverdueFirstPartitionLocal<MissingIdempotencyKeyState, MissingIdempotencyKeyParams>({
  kind: 'missing_idempotency_key',
  severity: 'warning',
  defaults: {},

  keyOf(e) {
    return e.type === 'action.requested' && e.idempotencyKey === undefined && e.action?.stateChanging === true
      ? intentKeyOf(e)
      : undefined;
  },

  init() {
    return { c: undefined, done: false, last: Number.MIN_SAFE_INTEGER, userId: '', intentId: '' };
  },

  onEvent(s, e) {
    s.userId = e.userId;
    s.intentId = e.intentId ?? '';
    noteOffence(s, { t: e.ts, id: e.eventId, tr: e.traceId, ag: e.agentId, action: e.action?.name ?? '', vendor: e.action?.vendor ?? '', attempt: e.attempt ?? 1 }, INTENT_MEMORY_MS);
    return s;
  },

  nextDue: offenceDue,

  onWatermark(s, watermark, ctx) {
    const x = settleOffence(s, watermark);
    if (x !== undefined) {
      const { ag, action, vendor, attempt } = x;
      emitDetection(
        ctx,
        { type: 'agent', id: ag },
        [x],
        `agent ${ag} requested state-changing ${action} at ${vendor} without an idempotency key (user ${s.userId}, intent ${s.intentId}, attempt ${attempt}); a retry could do it twice`,
        { observed: 1, threshold: 1, attempt },
      );
    }
    return s;
  },

  expiresAt(s) {
    return s.last + INTENT_MEMORY_MS;
  },
});
