import type { AgentEvent } from '../../processors/core/events.ts';
import type { EventSink } from './kafka-output.ts';
import type { Simulator } from './simulator.ts';

export interface RunOptions {
  /** Stop after this many events. */
  maxEvents?: number | undefined;
  /** Ends the run (Ctrl-C): the traffic is cut off where it stands. */
  signal?: AbortSignal | undefined;
  /** Called after each batch sent, with the number sent so far. */
  onBatch?: (sent: number) => void;
}

/** Cuts `events` to what `maxEvents` allows after `sent`, and ends the simulation there. */
function capped(sim: Simulator, events: AgentEvent[], sent: number, max: number | undefined): AgentEvent[] {
  if (max === undefined || sent + events.length < max) return events;
  const kept = events.slice(0, Math.max(0, max - sent));
  sim.stopAt(kept.length > 0 ? Date.parse(kept[kept.length - 1]!.occurredAt) : sim.start);
  return kept;
}

/**
 * Live: releases each event when the wall clock reaches its event time (every `tickMs`), so event
 * time is now, as in production. Resolves when the traffic ends (duration, count, or the signal).
 */
export async function runLive(sim: Simulator, sink: EventSink, o: RunOptions & { tickMs?: number; now?: () => number } = {}): Promise<number> {
  const now = o.now ?? Date.now;
  const tick = o.tickMs ?? 100;
  let sent = 0;
  let wake: (() => void) | undefined;
  const onAbort = () => wake?.();
  o.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    for (;;) {
      if (o.signal?.aborted) sim.stopAt(now());
      const t = now();
      const events = capped(sim, sim.until(t), sent, o.maxEvents);
      await sink.send(events);
      sent += events.length;
      o.onBatch?.(sent);
      if (sim.doneAt(t) || (o.maxEvents !== undefined && sent >= o.maxEvents)) return sent;
      if (o.signal?.aborted) continue;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          wake = undefined;
          resolve();
        }, Math.max(1, Math.min(tick, sim.endsAt - now())));
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  } finally {
    o.signal?.removeEventListener('abort', onAbort);
  }
}

/** As fast as it can (a file for `vigil replay` or a benchmark): event time runs ahead of the clock. */
export async function runOffline(sim: Simulator, sink: EventSink, o: RunOptions = {}): Promise<number> {
  let sent = 0;
  for (let t = sim.start + 10_000; ; t += 10_000) {
    if (o.signal?.aborted) sim.stopAt(t - 10_000);
    const events = capped(sim, sim.until(t), sent, o.maxEvents);
    await sink.send(events);
    sent += events.length;
    o.onBatch?.(sent);
    if (sim.doneAt(t) || (o.maxEvents !== undefined && sent >= o.maxEvents)) return sent;
  }
}
