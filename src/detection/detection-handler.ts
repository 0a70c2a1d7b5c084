import type { KafkaMessage } from 'kafkajs';
import type { ValidEvent } from '../../processors/core/events.ts';
import type { Finding } from '../../processors/core/finding.ts';
import { BOOTSTRAP_MIN_BATCH, EventTimeGuard, type GuardOutput } from '../../processors/engine/event-time-guard.ts';
import { combineWatermarks, explainWatermark, type PartitionMark } from '../../processors/engine/partition-watermarks.ts';
import type { BatchContext } from '../ingest/batch-handler.ts';
import type { Policy } from '../policy/load-policy.ts';
import { batchOffsets, batchPlan, byTimeAndId, runAndSave, ttlOf, type Loaded, type PassPlan } from './detection-pass.ts';
import { DetectionStoreError } from './detection-store-error.ts';
import { decodeHeld, encodeHeld, messageOf, storeMessage, type LivePayload, type RefusedEvent } from './held-events.ts';
import type { DetectionHandler, DetectionHandlerOptions, DetectionStats, PartitionState, WatermarkStatus } from './detection-handler-api.ts';
import { SliceStore, type LoadResult, type PartitionRecord } from './slice-store.ts';
import { SliceCache } from './slice-cache.ts';
import { FindingOutbox } from './finding-outbox.ts';
import { ResidentStates } from './resident-state.ts';
import { SharedSlices, type Ref } from './shared-slices.ts';

export type { DetectionHandler, DetectionHandlerOptions, DetectionStats, WatermarkStatus };

/**
 * The live engine: runs the detectors on each Kafka batch with state in Redis, shared by every monitor
 * instance. Per batch: one pipelined round trip loads every partition's event-time record, the
 * partition's held events, the due timers and the slices the batch touches that are not served from
 * memory (SliceCache: the slices this instance saved are held, the others taken as absent; only
 * contended ones are read, and every guess is checked by the save's version check); the event-time guard
 * (processors/engine/event-time-guard.ts, as in `vigil replay`) decides which events run, are held or
 * are refused (dead-lettered); the pure engine's SliceRunner runs them; one round trip saves the
 * changed slices (runAndSave: one script call per bucket), findings go to the sink, and the partition's
 * record is saved. docs/live-engine.md has the design and its figures. The
 * detectors run by the lowest watermark of the partitions that are not idle
 * (processors/engine/partition-watermarks.ts), so a partition that runs ahead never settles what a slower
 * one could still answer; `tick` settles what idle partitions no longer hold back.
 *
 * Retrying is idempotent: each saved slice remembers, per partition, the highest Kafka offset its state
 * holds (and the first and last eventId of the batch that saved it, for batches without messages), the
 * held events the pass released, and its findings in that batch. A redelivered batch, whatever its
 * boundaries, does not apply those events to that slice again, and sends those findings again
 * (batchPlan in detection-pass.ts).
 */
export function createDetectionHandler(opts: DetectionHandlerOptions): DetectionHandler {
  const store = new SliceStore(opts.redis, opts.keys, { commandTimeoutMs: opts.commandTimeoutMs ?? 5000 });
  // partition-local detectors keep their slices with the partition (resident-state.ts); the rest load and save per pass
  const residents = new ResidentStates({ redis: opts.redis, keys: opts.keys, detectors: opts.detectors, timeoutMs: opts.commandTimeoutMs ?? 5000 });
  const sharedMask = residents.mask.map((r) => !r);
  const owned = new Map<string, Set<number>>(); // topic → partitions assigned here (their resident state is restored by a tick)
  const cache = new SliceCache(opts.maxCachedSlices !== undefined ? { maxEntries: opts.maxCachedSlices } : {});
  const detectors = opts.detectors;
  const slices = new SharedSlices(detectors, sharedMask, cache);
  const maxRetries = opts.maxConflictRetries ?? 50;
  const maxTtlMs = opts.maxTtlMs ?? 30 * 86_400_000;
  const idleMs = opts.idlePartitionMs ?? 30_000;
  const firstSeenAt = new Map<string, number>(); // topic → Redis time this handler first saw it
  const knownStream = new Map<string, number>(); // topic → newest event time read (for the first load's timer range)
  const lastSettled = new Map<string, number>(); // topic → settled watermark this handler last wrote
  const partitions = new Map<string, PartitionState>();
  // slices may wait in the TTL-pending sets (saved with no watermark yet): at the start (an earlier run may
  // have left some), and after a pass that saved slices without a watermark
  let ttlsToBound = true;
  // findings filed as unsent with the state that made them, until published (finding-outbox.ts)
  const outbox = new FindingOutbox(store, opts.sink, { graceMs: opts.unsentGraceMs ?? 10_000, logger: opts.logger });
  const current = (): Policy => ('current' in opts.policy ? opts.policy.current() : opts.policy);
  const stats: DetectionStats = { batches: 0, events: 0, findings: 0, slicesLoaded: 0, slicesSaved: 0, conflicts: 0, replayedSlices: 0, outOfBounds: 0, settledByTick: 0, sentByTick: 0, ttlsBounded: 0, resident: residents.stats };

  const seen = (topic: string, now: number) => {
    if (!firstSeenAt.has(topic)) firstSeenAt.set(topic, now);
    return firstSeenAt.get(topic)!;
  };
  const marksOf = (records: readonly PartitionRecord[]): PartitionMark[] =>
    records.filter((r) => r.newest > -Infinity && r.at > -Infinity).map((r) => ({ partition: r.partition, watermark: r.watermark, newest: r.newest, at: r.at }));
  const streamNewest = (records: readonly PartitionRecord[], topic: string) => {
    let n = -Infinity;
    for (const r of records) if (r.partition.startsWith(topic + '/') && r.newest > n) n = r.newest;
    return n;
  };

  /** One pass over a partition: its batch's events (none for a tick), with what it holds. */
  async function partitionPass(p: PartitionState, events: readonly ValidEvent[], messages: readonly (KafkaMessage | undefined)[] | undefined, tick: boolean, advanceTo?: number): Promise<void> {
    const rules = current().rules;
    const bounds = rules.eventTime;
    const lateness = rules.latenessMs;
    const { topic, key: partKey } = p;

    // What the batch touches (refused events included: they are not known yet), and a first guess at
    // the timers due: up to the batch's newest event, but not past the bound of the stream's time.
    const refs = new Map<string, Ref>();
    slices.add(rules, events, refs);
    let maxTs = -Infinity;
    for (const e of events) if (e.ts > maxTs) maxTs = e.ts;
    // How far the batch's events will move event time if the guard accepts them as they come (a far-ahead
    // one left out), so the first round trip loads the timers that will be due.
    const known = knownStream.get(topic) ?? -Infinity;
    let guess = known;
    if (known > -Infinity) for (const e of events) if (e.ts > guess && e.ts <= guess + bounds.maxFutureSkewMs) guess = e.ts;
    const guessUpTo = known > -Infinity ? guess - lateness : undefined;
    const { fromRedis, served } = slices.split(refs);
    const first = await store.load([...fromRedis.values()], guessUpTo, { held: partKey });
    const since = seen(topic, first.now);
    if (!tick) p.lastBatchAt = first.now;
    const record = first.partitions.find((r) => r.partition === partKey);
    const streamNow = streamNewest(first.partitions, topic);
    // The future bound's reference: the stream's newest as this partition last read it (so a retried
    // batch is judged alike); a tick, and a partition that had no clock yet, read it now.
    const g = tick || record === undefined || record.stream === -Infinity ? Math.max(record?.stream ?? -Infinity, streamNow) : record.stream;
    knownStream.set(topic, Math.max(known, streamNow));
    const resident = await residents.get(partKey, record?.version ?? 0, rules);

    // The event-time guard: what runs (in order), what is held, what is refused.
    const guard = new EventTimeGuard<LivePayload>(bounds, { newest: record?.newest ?? -Infinity, held: decodeHeld(first.held) }, g);
    const run: { e: ValidEvent; i: number }[] = [];
    const refused: { e: ValidEvent; payload: LivePayload; reason: RefusedEvent['reason']; detail: string }[] = [];
    const out: GuardOutput<LivePayload> = {
      accept: (e, payload) => run.push({ e, i: typeof payload === 'number' ? payload : -1 }),
      refuse: (e, payload, reason, detail) => refused.push({ e, payload, reason, detail }),
    };
    guard.observeStream(g, out);
    if (tick && guard.reference === -Infinity && first.now - Math.max(p.lastBatchAt, since) > idleMs) guard.settleBootstrap(out);
    const alreadyHeld = new Set(guard.held.map((h) => h.event.eventId)); // a redelivery of a held event
    events.forEach((e, i) => {
      if (!alreadyHeld.has(e.eventId)) guard.offer(e, i, out);
    });
    // A new stream's first batch starts the clock at its median when it holds a few events.
    if (!tick && guard.reference === -Infinity) guard.settleBootstrap(out, BOOTSTRAP_MIN_BATCH);
    const runEvents = run.map((r) => r.e);

    // The watermark: this partition's, held back by the slowest other partition that is not idle, and
    // never behind what was already settled.
    let acceptedMax = -Infinity;
    for (const e of runEvents) if (e.ts > acceptedMax) acceptedMax = e.ts;
    const own = record !== undefined && record.newest > -Infinity ? record.watermark : -Infinity;
    const combined = combineWatermarks({ topic, marks: marksOf(first.partitions), ...(opts.expectedPartitions !== undefined ? { partitions: opts.expectedPartitions } : {}), now: first.now, idleMs, firstSeenAt: since, exclude: partKey });
    const cap = combined.activeMin;
    const settled = first.settled.get(topic) ?? -Infinity;
    const start = Math.max(settled, Math.min(own, cap));
    const reach = Math.max(start, Math.min(cap, Math.max(own, acceptedMax - lateness)));

    // Slices of released held events, timers due up to the reach, and their slices.
    const loaded = new Map<string, Loaded>();
    for (const [id, l] of served) loaded.set(id, l);
    [...fromRedis.entries()].forEach(([id, ref], i) => loaded.set(id, { ref, stored: first.slices[i]! }));
    stats.slicesLoaded += fromRedis.size;
    const more = new Map<string, Ref>();
    slices.add(rules, run.filter((r) => r.i < 0).map((r) => r.e), more);
    for (const id of refs.keys()) more.delete(id);
    const loadedUpTo = guessUpTo ?? -Infinity;
    let due = first.due;
    if (more.size > 0 || reach > loadedUpTo) {
      const next = slices.split(more);
      const second = await store.load([...next.fromRedis.values()], reach, { dueFrom: loadedUpTo });
      for (const [id, l] of next.served) loaded.set(id, l);
      [...next.fromRedis.entries()].forEach(([id, ref], i) => loaded.set(id, { ref, stored: second.slices[i]! }));
      stats.slicesLoaded += next.fromRedis.size;
      due = [...due, ...second.due];
    }
    const dueIds = new Set(due.filter(([, t]) => t <= reach).map(([id]) => id));
    await loadMissing(loaded, dueIds);

    const offsets = batchOffsets(events, messages);
    const plan = batchPlan(partKey, events, run, loaded, offsets);
    const savedBefore = stats.slicesSaved;
    // resident slices go by the partition's own event time (only it feeds them), and never behind the shared start
    const mine = resident?.run(run, { from: Math.max(start, own), offsets, events, ...(advanceTo !== undefined ? { advanceTo } : {}) }) ?? [];
    const shared = await runAndSave({
      rules, detectors, enabled: sharedMask, store, loaded, watermark: start, cap, events: runEvents, dueIds, plan, maxRetries, maxTtlMs, stats, cache, partition: partKey, now: first.now,
    });
    const { watermark, bySlice } = shared;
    const findings = mine.length === 0 ? shared.findings : byTimeAndId([...shared.findings, ...mine]);
    stats.replayedSlices += plan.replayed;
    if (!(watermark > -Infinity) && stats.slicesSaved > savedBefore) ttlsToBound = true;
    cache.evictExpired(watermark, Date.now());
    if (findings.length > 0) {
      try {
        await outbox.publish(findings, bySlice);
      } catch (e) {
        // Filed as unsent with the slices: a redelivery sends again what the marks of the slices it
        // touches hold; a tick sends the rest (a due timer settled on a slice no event of the batch touches).
        const timerOnly = [...bySlice].filter(([id, fs]) => fs.length > 0 && !refs.has(id) && !more.has(id)).flatMap(([, fs]) => fs.map((f) => f.findingId));
        opts.logger?.warn('findings saved with their detector state but not published (filed as unsent)', {
          partition: partKey, offsets: offsets ? `${offsets[0]}..${offsets.at(-1)}` : undefined,
          findings: findings.map((f) => `${f.findingId} ${f.kind}`), fromDueTimersOnly: timerOnly, error: e as Error,
        });
        throw e;
      }
    }
    if (refused.length > 0) {
      stats.outOfBounds += refused.length;
      const letters = refused.map((r) => ({
        message: typeof r.payload === 'number' ? messageOf(storeMessage(messages?.[r.payload], r.e)) : messageOf(r.payload),
        eventId: r.e.eventId,
        reason: r.reason,
        detail: r.detail,
      }));
      await opts.deadLetter?.(letters, { topic, partition: p.partition });
    }
    let changes: ReturnType<NonNullable<typeof resident>['changes']> | undefined;
    const version = await store.savePartition({
      partition: partKey,
      expectedVersion: record?.version ?? 0,
      watermark: acceptedMax - lateness,
      newest: guard.newest,
      stream: Math.max(g, streamNow),
      active: run.length > 0,
      held: encodeHeld(guard.held, (i, e) => storeMessage(messages?.[i], e)),
      settled: watermark,
      ...(resident !== undefined ? { resident: { ...(changes = resident.changes()), ttlMs: maxTtlMs } } : {}),
    });
    if (version === -1) throw new DetectionStoreError(`the event-time record of ${partKey} changed under this batch (another instance ran the partition meanwhile)`);
    if (resident !== undefined) {
      resident.version = version;
      residents.stats.written += changes?.written ?? 0;
      residents.stats.deleted += changes?.dels.length ?? 0;
    }
    p.held = guard.held.length;
    p.stream = Math.max(g, streamNow);
    knownStream.set(topic, Math.max(knownStream.get(topic) ?? -Infinity, guard.newest));
    p.clockless = guard.reference === -Infinity;
    if (events.length > 0) {
      stats.batches++;
      stats.events += events.length;
    }
    stats.findings += findings.length;
  }

  const loadMissing = async (loaded: Map<string, Loaded>, dueIds: ReadonlySet<string>) => void (stats.slicesLoaded += await slices.loadMissing(store, loaded, dueIds));

  /** Settles the decisions due by the topic's watermark that no batch brought (idle partitions). */
  async function settlePass(topic: string, first: LoadResult): Promise<WatermarkStatus> {
    const rules = current().rules;
    const since = seen(topic, first.now);
    const combined = combineWatermarks({ topic, marks: marksOf(first.partitions), ...(opts.expectedPartitions !== undefined ? { partitions: opts.expectedPartitions } : {}), now: first.now, idleMs, firstSeenAt: since });
    const settled = first.settled.get(topic) ?? -Infinity;
    const w = Math.max(settled, combined.watermark);
    const status: WatermarkStatus = { topic, now: first.now, watermark: w, settled, combined, reason: explainWatermark(combined, idleMs), held: 0, resident: residents.sliceCount(topic) };
    // Slices saved before the watermark was known took the longest TTL (30 days): bound them now, by this
    // topic's watermark (slices are not kept per topic; a monitor reads one input topic). SliceCache still
    // thinks such a key lives longer: a held one that Redis dropped meanwhile conflicts on save and is reloaded.
    if (w > -Infinity && ttlsToBound) {
      ttlsToBound = false;
      try {
        const r = await store.boundTtls((expiresAt) => ttlOf(expiresAt, w, rules.latenessMs, maxTtlMs));
        stats.ttlsBounded += r.bounded;
        if (r.more) ttlsToBound = true;
      } catch (e) {
        ttlsToBound = true;
        throw e;
      }
    }
    for (const p of partitions.values()) if (p.topic === topic) status.held += p.held;
    // While partitions are active, their batches settle what is due; a tick looks for due timers when
    // idle partitions let the watermark pass what was settled, or when the stream is quiet (a late
    // event may have filed a decision already due, which no batch will come to settle).
    if (!(w > -Infinity) || (w <= settled && combined.activeMin !== Infinity)) return status;
    const timers = await store.load([], w);
    const dueIds = new Set(timers.due.map(([id]) => id));
    const loaded = new Map<string, Loaded>();
    await loadMissing(loaded, dueIds);
    if (loaded.size > 0) {
      const plan: PassPlan = { skips: false, admit: () => true, earlier: () => [], marks: (_id, stored) => stored?.marks ?? {}, refresh: () => {} };
      const { findings, bySlice } = await runAndSave({ rules, detectors, store, loaded, watermark: settled, cap: Infinity, events: [], advanceTo: w, dueIds, plan, maxRetries, maxTtlMs, stats, cache, now: first.now });
      // Filed as unsent with the slices: a failed publish, or a crash before it, leaves them to a later tick.
      await outbox.publish(findings, bySlice);
      stats.findings += findings.length;
      stats.settledByTick += findings.length;
    }
    if (w > (lastSettled.get(topic) ?? -Infinity)) await store.raiseSettled(topic, w);
    lastSettled.set(topic, w);
    status.settled = w;
    return status;
  }

  // One pass at a time in this handler (ingest has several partitions' batches in flight, kafka.partitionsConcurrently,
  // so their decoding, dedupe and commits overlap these passes): passes share the cache's state objects, which detectors mutate in place. A pass that fails clears the cache
  // (what it holds may be ahead of Redis).
  let tail: Promise<unknown> = Promise.resolve();
  const exclusive = <T>(work: () => Promise<T>): Promise<T> => {
    const guarded = async () => {
      try {
        return await work();
      } catch (e) {
        cache.clear();
        throw e;
      }
    };
    const next = tail.then(guarded, guarded);
    tail = next.catch(() => {});
    return next;
  };
  const serialize = <T>(p: PartitionState, work: () => Promise<T>): Promise<T> => {
    // a failed pass may have changed the resident state without saving it: the next one restores it
    const run = () => exclusive(() => work().catch((e: unknown) => {
      residents.drop(p.key);
      throw e;
    }));
    const next = p.chain.then(run, run);
    p.chain = next.catch(() => {});
    return next;
  };
  const stateOf = (topic: string, partition: number): PartitionState => {
    const key = `${topic}/${partition}`;
    let p = partitions.get(key);
    if (p === undefined) {
      p = { topic, partition, key, held: 0, dirty: false, lastBatchAt: -Infinity, stream: -Infinity, clockless: false, chain: Promise.resolve() };
      partitions.set(key, p);
    }
    return p;
  };

  async function handle(events: readonly ValidEvent[], ctx: BatchContext): Promise<void> {
    if (events.length === 0) return;
    const p = stateOf(ctx.topic, ctx.partition);
    const queued = performance.now();
    await serialize(p, async () => {
      if (ctx.timing) ctx.timing.waitMs += performance.now() - queued; // behind other partitions' passes and the tick
      p.dirty = true;
      await partitionPass(p, events, ctx.messages, false);
      p.dirty = false;
    });
  }

  async function tick(): Promise<WatermarkStatus[]> {
    const topics = new Set([...(opts.topic !== undefined ? [opts.topic] : []), ...[...partitions.values()].map((p) => p.topic)]);
    if (topics.size === 0) return [];
    let first = await store.load([]);
    // What passes left unsent first; a failure (the broker down) does not stop the settling, it is thrown
    // after it. One pass at a time with this instance's batches: a retried batch re-sending the same
    // findings while the broker is away would pass the publisher's check at the same moment (the chaos
    // suite saw 4 findings published twice under their ids that way).
    let unsentFailure: unknown;
    await exclusive(async () => (stats.sentByTick += await outbox.sendLeftovers(first.now))).catch((e: unknown) => (unsentFailure = e));
    // Held events are judged again when the stream moved on elsewhere, or (no clock yet) once the partition is quiet.
    let passes = 0;
    for (const p of partitions.values()) {
      if (p.held === 0 || p.dirty) continue;
      const quiet = first.now - Math.max(p.lastBatchAt, firstSeenAt.get(p.topic) ?? first.now) > idleMs;
      if (streamNewest(first.partitions, p.topic) > p.stream || (p.clockless && quiet)) {
        await serialize(p, () => partitionPass(p, [], undefined, true));
        passes++;
      }
    }
    if (passes > 0) first = await store.load([]);
    const out: WatermarkStatus[] = [];
    for (const topic of topics) out.push(await exclusive(() => settlePass(topic, first)));
    // Resident state settles in its own partition's passes. A partition the watermark moved past (idle:
    // the others carried the topic on), or assigned here with state not restored yet, gets a pass of its own.
    for (const st of residents.any ? out : []) {
      for (const p of [...partitions.values()]) {
        const rec = first.partitions.find((r) => r.partition === p.key);
        if (p.topic !== st.topic || p.dirty || rec === undefined || !(owned.get(p.topic)?.has(p.partition) ?? true)) continue;
        const r = residents.peek(p.key);
        if (r !== undefined && r.version === rec.version && !(st.watermark > r.runner.watermark)) continue;
        await serialize(p, () => partitionPass(p, [], undefined, true, st.watermark));
      }
    }
    if (unsentFailure !== undefined) throw unsentFailure;
    return out;
  }

  async function pendingByKind(after: number): Promise<Record<string, number>> {
    const counts: Record<string, number> = {};
    for (const member of await store.pendingTimers(after)) {
      const kind = member.slice(0, member.indexOf(':'));
      counts[kind] = (counts[kind] ?? 0) + 1;
    }
    residents.pendingByKind(after, counts); // the resident decisions of the partitions held here
    return counts;
  }

  /** After a rebalance: forget the slices of the partitions lost (their new owner writes them now); a tick restores the resident state of those gained. */
  function assigned(topic: string, parts: readonly number[]): void {
    const mine = new Set(parts.map((n) => `${topic}/${n}`));
    owned.set(topic, new Set(parts));
    for (const n of parts) stateOf(topic, n);
    void exclusive(async () => {
      cache.dropPartitions((p) => !p.startsWith(topic + '/') || mine.has(p));
      residents.retain((p) => !p.startsWith(topic + '/') || mine.has(p));
    });
  }

  return { handle, tick, pendingByKind, assigned, stats, residentSlices: () => residents.sliceCount() };
}
