import type { Detector } from '../core/detector.ts';
import type { EventType, ValidEvent } from '../core/events.ts';
import type { AnomalyKind, Severity } from '../core/finding.ts';
import { emitDetection, insertEv, type Ev } from './evidence.ts';
import { INTENT_MEMORY_MS } from './first-offender.ts';
import { settleOverdueFirstPartitionLocal } from './settle-overdue.ts';
import { intentKeyOf } from './intent-key.ts';

/** Parameters of a required-prior-event rule: the prior event must be at most `windowMs` older. */
export interface RequiredPriorParams {
  [k: string]: number;
  windowMs: number;
}

/** A request waiting for the watermark, with what its summary needs. */
export interface PendingRequest extends Ev {
  ag: string;
  action: string;
  vendor: string;
  risk: string;
  attempt: number;
  /** The window it is judged with (the params of its own event). */
  W: number;
}

/** Slice `i:<userId>:<intentId>`: the intent's prior events and the requests to judge. */
export interface RequiredPriorState {
  userId: string;
  intentId: string;
  /** Event times of the prior events (the latest few), sorted. */
  p: number[];
  /** Requests waiting for the watermark, sorted. */
  q: PendingRequest[];
  done: boolean;
  last: number;
  /** The window of the latest event's params: how long prior events stay useful. */
  W: number;
}

/** What makes one required-prior rule. */
export interface RequiredPriorSpec {
  kind: AnomalyKind;
  severity: Severity;
  /** The event that must come first, e.g. confirmation.accepted. */
  priorType: EventType;
  /** Whether an action.requested needs the prior event. */
  needsPrior(e: ValidEvent): boolean;
  /** The summary of a finding. */
  summary(r: PendingRequest, s: RequiredPriorState): string;
}

const MAX_PRIORS = 8;
const MAX_PENDING = 16;

/**
 * A detector for "a request with no <prior event> for its intent in the windowMs before it". A
 * request is judged once the watermark has passed it, so a prior event that arrives up to the lateness
 * after the request it precedes in event time still counts. Scope: agent. One finding per intent.
 */
export function requiredPriorDetector(spec: RequiredPriorSpec): Detector<RequiredPriorState, RequiredPriorParams> {
  return settleOverdueFirstPartitionLocal<RequiredPriorState, RequiredPriorParams>({
    kind: spec.kind,
    severity: spec.severity,
    defaults: { windowMs: 900_000 },

    keyOf(e) {
      if (e.type === spec.priorType || (e.type === 'action.requested' && spec.needsPrior(e))) return intentKeyOf(e);
      return undefined;
    },

    init() {
      return { userId: '', intentId: '', p: [], q: [], done: false, last: Number.MIN_SAFE_INTEGER, W: 0 };
    },

    onEvent(s, e, ctx) {
      s.userId = e.userId;
      s.intentId = e.intentId ?? '';
      if (s.done && e.ts > s.last + Math.max(INTENT_MEMORY_MS, s.W)) {
        // Past the slice's expiry: start afresh, as a new slice would.
        s.done = false;
        s.p = [];
      }
      s.W = ctx.params.windowMs;
      if (e.ts > s.last) s.last = e.ts;
      if (e.type === spec.priorType) {
        let i = s.p.length;
        while (i > 0 && s.p[i - 1]! > e.ts) i--;
        if (s.p[i - 1] !== e.ts) {
          if (i === s.p.length) s.p.push(e.ts);
          else s.p.splice(i, 0, e.ts);
        }
        if (s.p.length > MAX_PRIORS) s.p.shift();
      } else if (!s.done && !s.p.some((t) => t <= e.ts && t >= e.ts - ctx.params.windowMs)) {
        // (A request already preceded by its prior event is settled: more priors only help.)
        const a = e.action;
        insertEv(s.q, {
          t: e.ts,
          id: e.eventId,
          tr: e.traceId,
          ag: e.agentId,
          action: a?.name ?? '',
          vendor: a?.vendor ?? '',
          risk: a?.riskTier ?? '',
          attempt: e.attempt ?? 1,
          W: ctx.params.windowMs,
        }, MAX_PENDING);
      }
      return s;
    },

    nextDue(s) {
      return s.done ? undefined : s.q[0]?.t;
    },

    onWatermark(s, watermark, ctx) {
      while (!s.done && s.q.length > 0 && s.q[0]!.t <= watermark) {
        const r = s.q.shift()!;
        if (s.p.some((t) => t <= r.t && t >= r.t - r.W)) continue;
        s.done = true;
        s.q = [];
        emitDetection(ctx, { type: 'agent', id: r.ag }, [r], spec.summary(r, s), { observed: 0, threshold: 1, windowMs: r.W }, undefined, {
          eventId: r.id,
          action: r.action,
          vendor: r.vendor,
        });
      }
      return s;
    },

    expiresAt(s) {
      let w = Math.max(INTENT_MEMORY_MS, s.W);
      for (const r of s.q) if (r.W > w) w = r.W;
      return s.last + w;
    },
  });
}
