/**
 * A slice stored in parts: the state's bucket window (processors/shared/bucket-window.ts) one Redis hash
 * field per bucket, the rest of the state (its head) in the slice's `s` field as before. A pass then
 * writes the head and the buckets that changed, not the whole window.
 *
 * Why: the agent- and vendor-scoped kinds (vendor_failure_rate, retry_spike, confirmation_failure_spike)
 * are fed by every partition, so every pass touches every vendor's and agent's slice; at a steady
 * 5,000 events/s a vendor's window held 13–49 KB (60 buckets with evidence samples and up to 32 users
 * and agents each) and the monitor wrote ~15 MB/s of it to Redis, a third of its busy time
 * (docs/live-engine.md, "Seventh pass"). Most of a window's buckets are closed and never change again.
 *
 * The format, per slice hash (KeyBuilder.detectorSlice): `s` the head JSON, whose window's `b` is
 * empty; `p:<field>:<i>` the JSON of bucket `i` of the window in state property `<field>`. A slice saved
 * whole (by a version before this, or of a kind without a window) has no `p:` fields and reads as before.
 */

/** Field prefix of a slice's parts in its hash. */
export const PART_PREFIX = 'p:';

/** Parts as Redis holds them: field (with its prefix) → JSON. */
export type Parts = ReadonlyMap<string, string>;

/** A state to write in parts: its head JSON and its parts. */
export interface SplitState {
  head: string;
  parts: Map<string, string>;
}

interface WindowLike {
  b: BucketLike[];
}

/** A bucket as this module needs it: its index, and its change count (Bucket.c in bucket-window.ts). */
interface BucketLike {
  i: number;
  c?: number;
}

/**
 * The JSON of each bucket last serialised or read here, with its change count then: a bucket whose
 * count has not moved is the same JSON (every change to a bucket counts, processors/shared/bucket-window.ts),
 * so a pass serialises only the buckets it changed. Keyed by the bucket object: dropped with it.
 */
const serialised = new WeakMap<BucketLike, { c: number; json: string }>();

/** A bucket's JSON: the one serialised before when its change count is the same, else serialised now. */
function bucketJson(bucket: BucketLike): string {
  const c = bucket.c ?? -1;
  const known = serialised.get(bucket);
  if (known !== undefined && known.c === c) return known.json;
  const json = JSON.stringify(bucket);
  serialised.set(bucket, { c, json });
  return json;
}

const isWindow = (w: unknown): w is WindowLike => typeof w === 'object' && w !== null && Array.isArray((w as WindowLike).b);

const EMPTY: never[] = [];

/**
 * `state` written whole, its window's buckets in the head and no parts (those Redis holds are deleted):
 * for a slice several instances write. Each of them reads such a slice from Redis on every pass (it
 * is contended, slice-cache.ts), and read in parts it costs a field per bucket: in a backlog a
 * vendor's window held up to ~1,100 buckets, and two instances in one group ran at 0.35 × one (0.82 ×
 * with whole slices). One JSON string reads much faster than a thousand fields.
 */
export function wholeState(state: unknown): SplitState {
  return { head: JSON.stringify(state), parts: new Map() };
}

/**
 * The head and parts of `state`, whose property `field` holds a bucket window (or null: no parts).
 * The window's bucket list is swapped out while the head is serialised (synchronously), not copied.
 */
export function splitState(state: unknown, field: string): SplitState {
  const parts = new Map<string, string>();
  const w = (state as Record<string, unknown>)[field];
  if (!isWindow(w)) return { head: JSON.stringify(state), parts };
  const buckets = w.b;
  const prefix = PART_PREFIX + field + ':';
  for (const bucket of buckets) parts.set(prefix + bucket.i, bucketJson(bucket));
  w.b = EMPTY;
  try {
    return { head: JSON.stringify(state), parts };
  } finally {
    w.b = buckets;
  }
}

/**
 * The state from a head and the slice's `p:` fields (as HGETALL gives them; other fields are ignored).
 * A head saved whole (no parts, or its window's buckets in it) is the state as it is.
 */
export function joinState(head: string, fields: Record<string, string>): { state: unknown; parts: Map<string, string> | undefined } {
  const state = JSON.parse(head) as Record<string, unknown>;
  let parts: Map<string, string> | undefined;
  const byField = new Map<string, BucketLike[]>();
  for (const name in fields) {
    if (!name.startsWith(PART_PREFIX)) continue;
    const json = fields[name]!;
    (parts ??= new Map()).set(name, json);
    const field = name.slice(PART_PREFIX.length, name.indexOf(':', PART_PREFIX.length));
    let list = byField.get(field);
    if (list === undefined) byField.set(field, (list = []));
    const bucket = JSON.parse(json) as BucketLike;
    serialised.set(bucket, { c: bucket.c ?? -1, json });
    list.push(bucket);
  }
  for (const [field, buckets] of byField) {
    const w = state[field];
    if (!isWindow(w)) throw new Error(`slice parts ${PART_PREFIX}${field}:* without a window in the state's '${field}'`);
    // a head with buckets was saved whole (by a version before parts, during a rolling upgrade): its
    // buckets are the state, the parts beside it are stale (returned, so the next save replaces them)
    if (w.b.length === 0) w.b = buckets.sort((a, b) => a.i - b.i);
  }
  return { state, parts };
}

/**
 * What to write so that Redis, holding `before`, holds `now`: the fields to set (field, JSON pairs,
 * flat) and those to delete. `before` undefined: nothing is known to be there (a new slice, or one
 * saved whole): every part is set.
 */
export function diffParts(before: Parts | undefined, now: Parts): { set: string[]; del: string[] } {
  const set: string[] = [];
  const del: string[] = [];
  for (const [name, json] of now) if (before?.get(name) !== json) set.push(name, json);
  if (before !== undefined) for (const name of before.keys()) if (!now.has(name)) del.push(name);
  return { set, del };
}
