import { isCluster, type RedisClient } from '../redis/connection.ts';
import { SEEN_BUCKETS, seenBucketOf, type KeyBuilder } from '../redis/keys.ts';
import { runScript } from '../redis/scripts.ts';
import { VigilError } from '../errors/vigil-error.ts';

/** Redis did not answer a dedupe command in time (down or unreachable): retriable, the batch waits. */
export class DedupeUnavailableError extends VigilError {
  constructor(message: string) {
    super(message, { retriable: true });
  }
}

/**
 * Remembers which eventIds have been handed on, in Redis, shared by every monitor instance.
 * Checking and marking are separate steps on purpose: an id is marked only after its batch's effects
 * are durable, so a crash in between redelivers the event instead of losing it.
 *
 * Each eventId has its own marker key with the dedupe TTL, in one of SEEN_BUCKETS hash-tag buckets
 * (KeyBuilder.seenEvent), so a batch costs a few commands, not two per event. On Redis Cluster: one
 * MGET per bucket to check, one markSeen script per bucket to mark; a command's keys share its bucket's
 * tag, so it stays in one slot, while the buckets spread the markers over the masters. On a single node
 * (no slots): one MGET and one markSeen call for the whole batch (a batch of 90 events at a steady
 * 5,000 events/s had touched ~24 buckets: 48 commands, the Lua calls 18 % of Redis's CPU).
 */
export class EventDedupe {
  private readonly redis: RedisClient;
  private readonly keys: KeyBuilder;
  private readonly ttlSeconds: number;
  private readonly timeoutMs: number;
  /** Markers go in one group per hash-tag bucket (Cluster), or in one group (a single node). */
  private readonly groups: number;

  /**
   * `commandTimeoutMs` (default 5000): a check or mark that Redis does not answer within it fails with
   * DedupeUnavailableError (retriable), so ingest keeps heartbeating and retrying through an outage
   * instead of hanging on the client's offline queue.
   */
  constructor(redis: RedisClient, keys: KeyBuilder, ttlSeconds: number, opts: { commandTimeoutMs?: number } = {}) {
    this.redis = redis;
    this.keys = keys;
    this.ttlSeconds = ttlSeconds;
    this.timeoutMs = opts.commandTimeoutMs ?? 5000;
    this.groups = isCluster(redis) ? SEEN_BUCKETS : 1;
  }

  private async guard<T>(what: string, work: Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new DedupeUnavailableError(`Redis did not answer within ${this.timeoutMs} ms (${what})`)), this.timeoutMs);
    });
    work.catch(() => {}); // it may settle after the timeout won
    try {
      return await Promise.race([work, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Which of `eventIds` to hand on: `fresh[i]` is true when `eventIds[i]` is not marked as seen and
   * does not occur earlier in the list (a second copy inside one batch is a duplicate too). The result
   * also holds the fresh ids' marker keys, for markChecked().
   */
  async check(eventIds: readonly string[]): Promise<SeenCheck> {
    const n = eventIds.length;
    const fresh = new Array<boolean>(n).fill(false);
    const markers: string[][] = [];
    if (n === 0) return { fresh, markers };
    const first = new Set<string>();
    const byBucket = this.groupByBucket(eventIds, (id, i) => {
      if (first.has(id)) return false;
      first.add(id);
      fresh[i] = true; // until Redis says otherwise
      return true;
    });
    const checks: Promise<void>[] = [];
    for (const group of byBucket) {
      if (group === undefined) continue;
      checks.push(
        this.redis.mget(group.keys).then((values) => {
          const unmarked: string[] = [];
          for (let j = 0; j < values.length; j++) {
            if (values[j] === null) unmarked.push(group.keys[j]!);
            else fresh[group.at[j]!] = false;
          }
          if (unmarked.length > 0) markers.push(unmarked);
        }),
      );
    }
    await this.guard('check eventIds', Promise.all(checks));
    return { fresh, markers };
  }

  /** check(eventIds).fresh */
  async fresh(eventIds: readonly string[]): Promise<readonly boolean[]> {
    return (await this.check(eventIds)).fresh;
  }

  /** The ids among `eventIds` not yet marked as seen (duplicates inside the list are dropped too). */
  async unseen(eventIds: readonly string[]): Promise<Set<string>> {
    const fresh = await this.fresh(eventIds);
    const out = new Set<string>();
    for (let i = 0; i < eventIds.length; i++) if (fresh[i]) out.add(eventIds[i]!);
    return out;
  }

  /** Marks ids as handed on; they are forgotten after the dedupe TTL. One script call per bucket. */
  async markSeen(eventIds: Iterable<string>): Promise<void> {
    const ids = Array.isArray(eventIds) ? (eventIds as readonly string[]) : [...eventIds];
    const groups: string[][] = [];
    for (const group of this.groupByBucket(ids)) if (group !== undefined) groups.push(group.keys);
    await this.mark(groups);
  }

  /** Marks the ids a check found fresh (its markers, built once). */
  async markChecked(check: SeenCheck): Promise<void> {
    await this.mark(check.markers);
  }

  /** One markSeen-n.lua call per group of one bucket's marker keys. */
  private async mark(groups: readonly (readonly string[])[]): Promise<void> {
    if (groups.length === 0) return;
    await this.guard('mark eventIds', Promise.all(groups.map((keys) => runScript(this.redis, 'markSeen', keys, [this.ttlSeconds]))));
  }

  /**
   * The marker keys per command: per bucket on Cluster (sparse: a bucket without ids is undefined), all
   * in one on a single node; `keep` may skip some ids.
   */
  private groupByBucket(ids: readonly string[], keep?: (id: string, i: number) => boolean): (BucketGroup | undefined)[] {
    const groups = new Array<BucketGroup | undefined>(this.groups);
    const perBucket = this.groups > 1;
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i]!;
      if (keep && !keep(id, i)) continue;
      const b = seenBucketOf(id);
      const g = (groups[perBucket ? b : 0] ??= { keys: [], at: [] });
      g.keys.push(this.keys.seenEvent(id, b));
      g.at.push(i);
    }
    return groups;
  }
}

/** What EventDedupe.check found. */
export interface SeenCheck {
  /** Per id of the checked list: to be handed on (not marked, first copy in the list). */
  readonly fresh: readonly boolean[];
  /** The fresh ids' marker keys, one array per bucket. */
  readonly markers: readonly (readonly string[])[];
}

interface BucketGroup {
  keys: string[];
  /** Index of each id in the caller's list. */
  at: number[];
}
