/**
 * The live engine's watermark over Kafka partitions (pure, no I/O): which partitions hold event time
 * back and which are idle, by the clock the caller gives (live: Redis's). Kept apart from where the
 * partition records live (Redis today), so the rules stay the same when state moves.
 *
 * - A partition is active while it has accepted events within the last `idleMs`; a partition that has
 *   never accepted any is active until `idleMs` after the monitor first saw the topic, then idle like
 *   one that went quiet. (Before this rule, a partition that never received an event held every
 *   decision back forever.)
 * - The watermark is the lowest watermark of the active partitions. When none is active (the stream
 *   went quiet), it is the highest of all: exactly where `vigil replay` of the same events stops, so a
 *   quiet stream settles what replay settles and keeps pending what replay reports undecided.
 */

/** One partition's record, as the store keeps it. */
export interface PartitionMark {
  /** `<topic>/<partition>`. */
  partition: string;
  /** Its watermark: the newest event time it accepted minus the lateness (ms). */
  watermark: number;
  /** The newest event time it accepted (ms). */
  newest: number;
  /** When (the caller's clock, ms) it last accepted events. */
  at: number;
}

export type PartitionState = 'active' | 'idle' | 'waiting' | 'never_spoke';

/** A partition as the combined watermark sees it. */
export interface PartitionView {
  partition: string;
  /** active; idle (quiet for idleMs); waiting (never spoke, not idle yet); never_spoke (and idle). */
  state: PartitionState;
  watermark: number;
  newest: number;
  /** How long it has been quiet (ms), from its last events or, never having spoken, from when the topic was first seen. */
  quietMs: number;
}

export interface CombineInput {
  topic: string;
  /** The records of this topic's partitions (others are ignored). */
  marks: readonly PartitionMark[];
  /** Partition count of the topic, when known: partitions 0…n−1 without a record never spoke. */
  partitions?: number;
  now: number;
  idleMs: number;
  /** When the monitor first saw the topic (same clock). */
  firstSeenAt: number;
  /** Leave this partition out (the one whose batch is running: its own watermark is the batch's). */
  exclude?: string;
}

export interface Combined {
  /** The watermark decisions may be settled by (see the module comment); −Infinity when nothing spoke. */
  watermark: number;
  /** The lowest watermark of the active partitions; +Infinity when none is active (a batch's cap). */
  activeMin: number;
  /** The newest event time any partition accepted. */
  newest: number;
  /** The active partition whose watermark is the lowest (what holds event time back), if any. */
  heldBackBy: string | undefined;
  partitions: PartitionView[];
  idle: number;
  neverSpoke: number;
}

/** Combines partition records into the watermark (see the module comment). */
export function combineWatermarks(input: CombineInput): Combined {
  const { topic, now, idleMs, firstSeenAt } = input;
  const prefix = topic + '/';
  const byPartition = new Map<string, PartitionMark>();
  for (const m of input.marks) if (m.partition.startsWith(prefix) && m.partition !== input.exclude) byPartition.set(m.partition, m);
  const names = new Set(byPartition.keys());
  for (let i = 0; i < (input.partitions ?? 0); i++) if (`${prefix}${i}` !== input.exclude) names.add(`${prefix}${i}`);
  const views: PartitionView[] = [];
  let activeMin = Infinity;
  let heldBackBy: string | undefined;
  let highest = -Infinity;
  let newest = -Infinity;
  let idle = 0;
  let neverSpoke = 0;
  for (const name of [...names].sort(byNumber)) {
    const m = byPartition.get(name);
    if (m === undefined) {
      const quietMs = now - firstSeenAt;
      const isIdle = quietMs > idleMs;
      views.push({ partition: name, state: isIdle ? 'never_spoke' : 'waiting', watermark: -Infinity, newest: -Infinity, quietMs });
      if (isIdle) {
        idle++;
        neverSpoke++;
      } else if (activeMin > -Infinity) {
        activeMin = -Infinity;
        heldBackBy = name;
      }
      continue;
    }
    const quietMs = now - m.at;
    const isIdle = quietMs > idleMs;
    views.push({ partition: name, state: isIdle ? 'idle' : 'active', watermark: m.watermark, newest: m.newest, quietMs });
    if (m.watermark > highest) highest = m.watermark;
    if (m.newest > newest) newest = m.newest;
    if (isIdle) idle++;
    else if (m.watermark < activeMin) {
      activeMin = m.watermark;
      heldBackBy = name;
    }
  }
  const watermark = activeMin === Infinity ? highest : activeMin;
  // Held back only when some other partition is further on.
  if (heldBackBy !== undefined && !(highest > activeMin)) heldBackBy = undefined;
  return { watermark, activeMin, newest, heldBackBy, partitions: views, idle, neverSpoke };
}

/** Why the watermark is where it is, for a log line or /readyz: which partition holds it back, or no traffic. */
export function explainWatermark(c: Combined, idleMs: number): string {
  if (c.partitions.every((p) => p.state === 'waiting' || p.state === 'never_spoke')) return 'no traffic yet: no partition has sent an event';
  const by = c.heldBackBy !== undefined ? c.partitions.find((p) => p.partition === c.heldBackBy) : undefined;
  if (by?.state === 'waiting') return `partition ${by.partition} has not sent an event yet; it stops holding event time back in ${Math.max(0, Math.ceil((idleMs - by.quietMs) / 1000))} s (idle)`;
  if (by) {
    const ahead = c.partitions.filter((p) => p.watermark > by.watermark).length;
    return `partition ${by.partition} holds event time back: its watermark ${iso(by.watermark)} trails ${ahead} other partition(s); it stops holding back once quiet for ${Math.round(idleMs / 1000)} s`;
  }
  if (c.partitions.every((p) => p.state === 'idle' || p.state === 'never_spoke')) {
    return `no traffic: every partition has been quiet for more than ${Math.round(idleMs / 1000)} s, so event time stays at the newest event seen (${c.newest > -Infinity ? iso(c.newest) : 'none'}) until events resume`;
  }
  return 'event time follows the newest events';
}

function iso(ms: number): string {
  return Number.isFinite(ms) ? new Date(ms).toISOString() : String(ms);
}

function byNumber(a: string, b: string): number {
  const na = Number(a.slice(a.lastIndexOf('/') + 1));
  const nb = Number(b.slice(b.lastIndexOf('/') + 1));
  return na - nb || a.localeCompare(b);
}
