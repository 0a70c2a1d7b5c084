import type { Detector, Params } from '../core/detector.ts';

/**
 * Wraps a detector so that, before it applies an event, it settles the decisions of the slice that
 * are due at or before the engine's watermark (`ctx.watermark`; only a hand-made context without one
 * falls back to event time − lateness). No event that could still change them can arrive on time;
 * settling them first means `onEvent` never sees a decision that is already final but not yet made, so
 * a detector may start a new episode or forget old state on an event without losing a pending
 * decision, whatever the order events and timers come in.
 *
 * It must be the watermark, never the event's own time: live, the watermark is the lowest of the Kafka
 * partitions', and a slice fed by several partitions (a vendor, an agent) gets events from a partition
 * that runs ahead long before a slower partition's events of the same minutes arrive.
 */
export function settleOverdueFirst<S, P extends Params>(d: Detector<S, P>): Detector<S, P> {
  return wrap(d, false);
}

/**
 * settleOverdueFirst for a detector whose slices are each fed by ONE input partition (it is marked
 * `partitionLocal`, so `vigil run` keeps its slices resident with their partition): its key holds the
 * userId, the input's Kafka key (docs/event-contract.md), so a slice's events arrive in their
 * partition's order, within the lateness. For such a slice, what is due at or before the event's own
 * time − lateness is final as well (its partition is past it), even when the engine's watermark, held
 * back by a slower partition (a backlog: partitions hours apart), is far behind. Settling on it is what
 * replay of the same events does (there the watermark is never behind it), so a reset on the slice's own
 * event time (a new episode, memory ending) never merges or drops a decision live that replay made.
 */
export function settleOverdueFirstPartitionLocal<S, P extends Params>(d: Detector<S, P>): Detector<S, P> {
  return wrap(d, true);
}

function wrap<S, P extends Params>(d: Detector<S, P>, ownTime: boolean): Detector<S, P> {
  const { onWatermark, nextDue, onEvent } = d;
  if (onWatermark === undefined || nextDue === undefined) return ownTime ? { ...d, partitionLocal: true } : d;
  return {
    ...d,
    ...(ownTime ? { partitionLocal: true } : {}),
    onEvent(s, e, ctx) {
      let watermark = ctx.watermark ?? e.ts - ctx.latenessMs;
      if (ownTime && e.ts - ctx.latenessMs > watermark) watermark = e.ts - ctx.latenessMs;
      const due = nextDue(s);
      return onEvent(due !== undefined && due <= watermark ? onWatermark(s, watermark, ctx) : s, e, ctx);
    },
  };
}
