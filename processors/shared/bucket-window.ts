import { compareEv, insertEv, isBefore, type Ev } from './evidence.ts';

/**
 * A sliding event-time window made of fixed buckets (a hopping window that slides by one bucket),
 * decided when the watermark closes each bucket. Counts are sums, so the outcome does not depend on
 * the order events arrive in; evidence samples are the earliest events of each bucket by
 * (event time, eventId), so the evidence does not either.
 *
 * State is bounded: buckets older than one window behind the watermark are dropped; the ids used to
 * ignore redelivered events are kept only for buckets that are still open, and only when the engine
 * does not apply each event once itself (WindowInput.unique); samples are capped per
 * bucket and cleared while an episode is running. An event whose bucket is already closed (later
 * than the allowed lateness) is ignored.
 */
export interface BucketWindow {
  /** Bucket width, ms. */
  B: number;
  /** Window length, ms (a whole number of buckets). */
  W: number;
  /** Buckets, sorted by index. */
  b: Bucket[];
  /** Index of the last closed (decided) bucket; NONE before any. */
  closed: number;
  /** The current episode runs through this bucket index: a new finding needs a crossing after it. */
  until: number;
}

/** One bucket: counts, the peak of a per-event value, and evidence samples. */
export interface Bucket {
  /** Index: floor(eventTime / B). */
  i: number;
  /** Events counted toward the total. */
  n: number;
  /** Events of the first kind the rule counts (failures, rejections…). */
  f: number;
  /** Events of the second kind the rule counts (slow outcomes…). */
  g: number;
  /** The highest `peak` value seen in the bucket, and its label and evidence. */
  pk?: number;
  pl?: string;
  /** Earliest sampled events (sorted), capped. */
  s: Ev[];
  /** Latest sampled event. */
  z?: Ev;
  /**
   * Ids counted while the bucket is open (to ignore a redelivered event); dropped when it closes. Not
   * kept when the engine applies each event once (WindowInput.unique): at a steady 5,000 events/s they
   * made a vendor's or agent's slice 12–17 KB, written to Redis on every pass.
   */
  ids?: string[];
  /** Distinct agents and users of the events given with `who` (the SUBJECTS_CAP smallest ids, sorted). */
  ag?: string[];
  us?: string[];
  /**
   * How many times the bucket changed: every change in this file counts it. A store that wrote the
   * bucket at the same count need not serialise or write it again (src/detection/slice-parts.ts).
   * No decision reads it. Absent in buckets saved by versions before it.
   */
  c?: number;
}

/** Distinct agents (or users) kept per bucket and reported per window: the smallest ids, so the set does not depend on arrival order. */
export const SUBJECTS_CAP = 32;

/** Distinct agents and users behind a window's events (those added with `who`). */
export interface WindowSubjects {
  agents: string[];
  users: string[];
}

/** Sums over the buckets of one window. */
export interface WindowSums {
  n: number;
  f: number;
  g: number;
  /** Highest peak value in the window, with its label, or 0 / undefined. */
  peak: number;
  peakLabel: string | undefined;
}

/** What an event adds to its bucket. */
export interface WindowInput {
  /** Counts toward the total (default true). */
  n?: boolean;
  /** Counts as the first kind (failure…). */
  f?: boolean;
  /** Counts as the second kind (slow…). */
  g?: boolean;
  /** Keep the event as evidence. */
  sample: boolean;
  peak?: number;
  peakLabel?: string;
  /** The agent and user behind the event, to report as the window's subjects (breaker quorum). */
  who?: { agent: string; user: string };
  /** The engine applies each event once (SettleContext.eventsUnique): keep no id to ignore a redelivery. */
  unique?: boolean | undefined;
}

/** "No bucket yet": below any bucket index, event times before 1970 included (and plain JSON, unlike -Infinity). */
const NONE = Number.MIN_SAFE_INTEGER;

/** A new window of `windowMs`, sliding by `bucketMs` (windowMs is rounded up to whole buckets). */
export function newWindow(windowMs: number, bucketMs: number): BucketWindow {
  const B = Math.max(1, Math.floor(bucketMs));
  const W = Math.max(B, Math.ceil(windowMs / B) * B);
  return { B, W, b: [], closed: NONE, until: NONE };
}

/** The default bucket width for a window: 1/60 of it, at least 1 ms. */
export function defaultBucketMs(windowMs: number): number {
  return Math.max(1, Math.floor(windowMs / 60));
}

/**
 * Adds one event to the window.
 * @returns false when the event was ignored: its bucket is closed, or it was already counted (checked
 *   only without `input.unique`).
 */
export function addToWindow(w: BucketWindow, ts: number, ev: Ev, input: WindowInput, sampleCap: number): boolean {
  const i = Math.floor(ts / w.B);
  if (i <= w.closed) return false;
  let k = w.b.length;
  while (k > 0 && w.b[k - 1]!.i > i) k--;
  let bucket = w.b[k - 1];
  if (bucket === undefined || bucket.i !== i) {
    bucket = input.unique ? { i, n: 0, f: 0, g: 0, s: [], c: 0 } : { i, n: 0, f: 0, g: 0, s: [], ids: [], c: 0 };
    if (k === w.b.length) w.b.push(bucket); // the usual case: no splice, whose result array is garbage
    else w.b.splice(k, 0, bucket);
  }
  if (!input.unique) {
    const ids = (bucket.ids ??= []);
    if (ids.includes(ev.id)) return false;
    ids.push(ev.id);
  }
  bucket.c = (bucket.c ?? 0) + 1;
  if (input.n !== false) bucket.n++;
  if (input.f) bucket.f++;
  if (input.g) bucket.g++;
  if (input.peak !== undefined && (bucket.pk === undefined || input.peak > bucket.pk ||
      (input.peak === bucket.pk && (input.peakLabel ?? '') < (bucket.pl ?? '')))) {
    bucket.pk = input.peak;
    if (input.peakLabel !== undefined) bucket.pl = input.peakLabel;
  }
  if (input.who !== undefined) {
    addSubject((bucket.ag ??= []), input.who.agent);
    addSubject((bucket.us ??= []), input.who.user);
  }
  if (input.sample) {
    insertEv(bucket.s, ev, sampleCap);
    if (bucket.z === undefined || isBefore(bucket.z, ev)) bucket.z = ev;
  }
  return true;
}

/** Adds an id to a sorted, distinct list that keeps the SUBJECTS_CAP smallest. */
function addSubject(list: string[], id: string): void {
  let k = list.length;
  while (k > 0 && list[k - 1]! > id) k--;
  if (k > 0 && list[k - 1] === id) return;
  if (k >= SUBJECTS_CAP) return;
  list.splice(k, 0, id);
  if (list.length > SUBJECTS_CAP) list.pop();
}

/** Event time at which the earliest open bucket closes, if any bucket is open. */
export function windowNextDue(w: BucketWindow): number | undefined {
  for (const bucket of w.b) if (bucket.i > w.closed) return (bucket.i + 1) * w.B - 1;
  return undefined;
}

/** Event time after which the window holds nothing any future decision needs. */
export function windowExpiresAt(w: BucketWindow): number {
  const last = w.b[w.b.length - 1];
  return last === undefined ? 0 : (last.i + 1) * w.B + w.W;
}

/**
 * Closes every bucket the watermark has passed, in event-time order, and decides each window that
 * ends at a closed bucket. `fires(sums)` says whether the rule holds; a window where it holds starts a
 * new episode (and `onFire` is called with the window's evidence samples, sorted) unless the current
 * episode still runs, in which case the episode is extended by one window.
 */
export function closeWindow(
  w: BucketWindow,
  watermark: number,
  fires: (sums: WindowSums) => boolean,
  onFire: (sums: WindowSums, evidence: Ev[], subjects: WindowSubjects) => void,
): void {
  const nB = w.W / w.B;
  const lastClosable = watermark === Number.POSITIVE_INFINITY ? Number.POSITIVE_INFINITY : Math.floor((watermark + 1) / w.B) - 1;
  if (lastClosable <= w.closed) return;
  for (let k = 0; k < w.b.length; k++) {
    const bucket = w.b[k]!;
    if (bucket.i <= w.closed) continue;
    if (bucket.i > lastClosable) break;
    if (bucket.ids !== undefined) {
      bucket.ids = undefined; // a bucket that never had ids (WindowInput.unique) keeps its shape
      bucket.c = (bucket.c ?? 0) + 1;
    }
    const sums: WindowSums = { n: 0, f: 0, g: 0, peak: 0, peakLabel: undefined };
    let first = k;
    for (let j = k; j >= 0 && w.b[j]!.i > bucket.i - nB; j--) {
      const x = w.b[j]!;
      sums.n += x.n;
      sums.f += x.f;
      sums.g += x.g;
      if (x.pk !== undefined && (x.pk > sums.peak || (x.pk === sums.peak && (x.pl ?? '') < (sums.peakLabel ?? '')))) {
        sums.peak = x.pk;
        sums.peakLabel = x.pl;
      }
      first = j;
    }
    if (fires(sums)) {
      if (bucket.i > w.until) {
        const evidence: Ev[] = [];
        const subjects: WindowSubjects = { agents: [], users: [] };
        for (let j = first; j <= k; j++) {
          const x = w.b[j]!;
          for (const s of x.s) evidence.push(s);
          if (x.z !== undefined && !x.s.some((s) => s.id === x.z!.id)) evidence.push(x.z);
          for (const a of x.ag ?? []) addSubject(subjects.agents, a);
          for (const u of x.us ?? []) addSubject(subjects.users, u);
        }
        evidence.sort(compareEv);
        onFire(sums, evidence, subjects);
      }
      w.until = bucket.i + nB;
    }
  }
  const closedNow = lastClosable === Number.POSITIVE_INFINITY ? (w.b[w.b.length - 1]?.i ?? w.closed) : lastClosable;
  w.closed = Math.max(w.closed, closedNow);
  // Buckets that no window ending after `closed` can reach are dropped; while an episode runs, samples
  // that no new episode can use are cleared.
  const keepFrom = w.closed - nB + 2;
  let drop = 0;
  while (drop < w.b.length && w.b[drop]!.i < keepFrom) drop++;
  if (drop === 1) w.b.shift(); // the usual case: no splice, whose result array is garbage
  else if (drop > 0) w.b.splice(0, drop);
  for (const x of w.b) {
    if (x.i > w.closed) break;
    if (x.i + nB - 1 <= w.until && x.s.length > 0) {
      x.s = [];
      x.z = undefined;
      x.c = (x.c ?? 0) + 1;
    }
  }
}

/** The most buckets a window may span after its length was changed by the policy. */
const MAX_BUCKETS = 600;

/**
 * The window to use for `windowMs`: `w` itself, or a new one when there is none yet. When the policy
 * changes the window's length (a reload, or events of one slice resolving to different rules), the
 * window keeps its buckets and only its length changes, unless that would need more than
 * MAX_BUCKETS buckets of the current width: then it starts afresh.
 */
export function ensureWindow(w: BucketWindow | null, windowMs: number): BucketWindow {
  if (w === null) return newWindow(windowMs, defaultBucketMs(windowMs));
  const W = Math.max(w.B, Math.ceil(windowMs / w.B) * w.B);
  if (W === w.W) return w;
  if (W / w.B > MAX_BUCKETS) return newWindow(windowMs, defaultBucketMs(windowMs));
  w.W = W;
  return w;
}
