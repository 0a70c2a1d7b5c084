import type { Detector, Params } from '../core/detector.ts';

/**
 * Wraps a detector so that, before it applies an event, it settles the decisions of the slice that
 * this event makes due: those due at or before (event time − lateness). The engine would settle them
 * right after the event anyway (the watermark is then at least that), and no event that could still
 * change them can arrive on time; settling them first means `onEvent` never sees a decision that is
 * already final but not yet made, so a detector may start a new episode or forget old state on an
 * event without losing a pending decision, whatever the order events and timers come in.
 */
export function settleOverdueFirst<S, P extends Params>(d: Detector<S, P>): Detector<S, P> {
  const { onWatermark, nextDue, onEvent } = d;
  if (onWatermark === undefined || nextDue === undefined) return d;
  return {
    ...d,
    onEvent(s, e, ctx) {
      const watermark = e.ts - ctx.latenessMs;
      const due = nextDue(s);
      return onEvent(due !== undefined && due <= watermark ? onWatermark(s, watermark, ctx) : s, e, ctx);
    },
  };
}
