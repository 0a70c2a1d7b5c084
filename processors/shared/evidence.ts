import type { ValidEvent } from '../core/events.ts';
import type { Detection, SettleContext } from '../core/detector.ts';
import type { ActionTarget, Scope, Subjects } from '../core/finding.ts';

/**
 * One piece of evidence as a slice keeps it: event time, event id and trace id. Short field names
 * keep slices small once they are stored as JSON.
 */
export interface Ev {
  /** Event time, epoch ms. */
  t: number;
  /** eventId. */
  id: string;
  /** traceId, when the event had one. */
  tr?: string;
}

/** The most evidence ids a finding carries. */
export const MAX_EVIDENCE = 50;

/** The evidence entry of an event. */
export function evOf(e: ValidEvent): Ev {
  return { t: e.ts, id: e.eventId, tr: e.traceId };
}

/** Total order on evidence: event time, then eventId, so ties break the same way in every run. */
export function compareEv(a: Ev, b: Ev): number {
  if (a.t !== b.t) return a.t - b.t;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/** True when `a` comes strictly before `b` in the evidence order. */
export function isBefore(a: Ev, b: Ev): boolean {
  return compareEv(a, b) < 0;
}

/**
 * Inserts `x` into `list` (kept sorted by compareEv) unless an entry with the same id is there.
 * When the list then holds more than `cap` entries, the latest one is dropped.
 * @returns false when the id was already held (a redelivered event).
 */
export function insertEv<T extends Ev>(list: T[], x: T, cap = Number.POSITIVE_INFINITY): boolean {
  let i = list.length;
  // Events mostly arrive in order: walk back from the end.
  while (i > 0 && compareEv(list[i - 1]!, x) > 0) i--;
  for (let j = i - 1; j >= 0 && list[j]!.t === x.t; j--) if (list[j]!.id === x.id) return false;
  for (let j = i; j < list.length && list[j]!.t === x.t; j++) if (list[j]!.id === x.id) return false;
  if (i >= cap) return true;
  if (i === list.length) list.push(x); // the usual case (in order): no splice, whose result array is garbage
  else list.splice(i, 0, x);
  if (list.length > cap) list.pop();
  return true;
}

/**
 * Bounds evidence to MAX_EVIDENCE entries, keeping the earliest ones and the latest (the one that
 * completed the case), sorted by event time.
 */
export function boundEvidence(evs: readonly Ev[], max = MAX_EVIDENCE): Ev[] {
  const seen = new Set<string>();
  const sorted = [...evs].sort(compareEv).filter((x) => (seen.has(x.id) ? false : (seen.add(x.id), true)));
  if (sorted.length <= max) return sorted;
  return [...sorted.slice(0, max - 1), sorted[sorted.length - 1]!];
}

/**
 * Emits a detection whose evidence is `evs`: eventIds in event-time order, traceIds deduplicated,
 * detectedAt the event time of the latest evidence (the event that completed the case). `target`: the
 * one action the detection is about, where there is one.
 */
export function emitDetection(
  ctx: SettleContext,
  scope: Scope,
  evs: readonly Ev[],
  summary: string,
  metrics?: Record<string, number>,
  subjects?: Subjects,
  target?: ActionTarget,
): void {
  const list = boundEvidence(evs);
  const traceIds: string[] = [];
  for (const x of list) if (x.tr !== undefined && !traceIds.includes(x.tr)) traceIds.push(x.tr);
  const d: Detection = {
    scope,
    eventIds: list.map((x) => x.id),
    detectedAt: list.length > 0 ? list[list.length - 1]!.t : 0,
    summary,
  };
  if (traceIds.length > 0) d.traceIds = traceIds;
  if (metrics !== undefined) d.metrics = metrics;
  if (subjects !== undefined && (subjects.agents.length > 0 || subjects.users.length > 0)) d.subjects = subjects;
  if (target !== undefined) d.target = target;
  ctx.emit(d);
}

/** A window length for people: 60000 → "60 s", 600000 → "10 min", 86400000 → "24 h". */
export function formatDuration(ms: number): string {
  if (ms % 3_600_000 === 0 && ms >= 7_200_000) return `${ms / 3_600_000} h`;
  if (ms % 60_000 === 0 && ms >= 120_000) return `${ms / 60_000} min`;
  if (ms % 1000 === 0) return `${ms / 1000} s`;
  return `${ms} ms`;
}

/** A ratio as a percentage for people: 0.4 → "40%". */
export function formatPercent(r: number): string {
  return `${Math.round(r * 1000) / 10}%`;
}

/** Keeps, in place and in order, the entries of `list` that `keep` accepts (no copy of the array). */
export function retain<T>(list: T[], keep: (x: T) => boolean): void {
  let n = 0;
  for (let i = 0; i < list.length; i++) {
    const x = list[i]!;
    if (keep(x)) list[n++] = x;
  }
  list.length = n;
}
