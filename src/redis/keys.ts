import { BreakerKeys } from '@vigil/breaker-client/protocol';

/** 32-bit FNV-1a of a string's UTF-16 code units: the one bucket hash of every bucketed key (stable: part of the key layout). */
export function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/**
 * Hash-tag buckets of the ingest seen-markers. Part of the key layout: changing it (or seenBucketOf)
 * moves every marker, so events redelivered across such a deploy would be handed on again.
 */
export const SEEN_BUCKETS = 32;

/** The seen-marker bucket of an eventId: FNV-1a of its UTF-16 code units, modulo SEEN_BUCKETS. */
export function seenBucketOf(eventId: string): number {
  return fnv1a(eventId) % SEEN_BUCKETS;
}

/** How many hash tags detector state is spread over (each with its own timer set). Part of the key layout. */
export const DETECTOR_STATE_BUCKETS = 16;

/** The detector-state bucket (hash tag `{ds:<n>}`) of the slice `<kind>:<key>`. */
export function detectorBucketOf(kind: string, key: string): number {
  return fnv1a(kind + ':' + key) % DETECTOR_STATE_BUCKETS;
}

/**
 * The one key builder: every Redis key vigil reads or writes is made here, nowhere else.
 *
 * Layout: `<prefix>:<area>:{<hash tag>}:<rest>`. The part in braces is the Redis Cluster hash tag: keys
 * that one Lua script touches together share it, so every script's keys live in one slot.
 * The prefix (default `vigil`) lets several deployments share one Redis.
 * The breaker keys are a public protocol (docs/breaker-protocol.md): change them only with a new
 * protocol version.
 */
export class KeyBuilder {
  readonly prefix: string;
  /** The breaker keys: their layout is @vigil/breaker-client's (the protocol), delegated to. */
  readonly breakers: BreakerKeys;
  constructor(prefix = 'vigil') {
    if (!/^[A-Za-z0-9_.-]+$/.test(prefix)) throw new Error(`invalid Redis key prefix "${prefix}"`);
    this.prefix = prefix;
    this.breakers = new BreakerKeys(prefix);
  }

  // ── ingest ────────────────────────────────────────────────────────────────
  // Each eventId has its own marker, in one of SEEN_BUCKETS hash tags `{seen:<n>}` (n from a hash of the
  // eventId): a batch is checked with one MGET and marked with one script per bucket, each in one slot,
  // and the markers still spread over a Redis Cluster.
  /** Marks an eventId as handed on (value '1', the dedupe TTL): the ingest dedupe. `bucket`: seenBucketOf(eventId), when known. */
  seenEvent(eventId: string, bucket = seenBucketOf(eventId)): string {
    return `${this.prefix}:seen:{seen:${bucket}}:${eventId}`;
  }

  // ── detector state (processors' Redis store) ──────────────────────────────
  // A slice lives in one of DETECTOR_STATE_BUCKETS hash tags `{ds:<n>}` (n from a hash of kind and key),
  // next to its bucket's timer set, so the one script that saves a slice touches one slot and the state
  // still spreads over a Redis Cluster.
  /** One detector's state slice: a hash {v: version, s: state JSON, k: rule match key, m: batch marks}. `bucket`: detectorBucketOf(kind, key). */
  detectorSlice(bucket: number, kind: string, key: string): string {
    return `${this.prefix}:ds:{ds:${bucket}}:${kind}:${key}`;
  }

  /**
   * The bucket's version counter: every slice saved in the bucket takes its next value as its version,
   * so a slice deleted and created again never repeats a version a holder of the old one expects.
   * One small counter per bucket, without a TTL (it must outlive every slice of the bucket).
   */
  detectorVersions(bucket: number): string {
    return `${this.prefix}:ds:{ds:${bucket}}:~seq`;
  }

  /**
   * The bucket's unsent findings (an outbox, saveSlices-n.lua): hash findingId → `<Redis ms>|<finding
   * JSON>`, filed in the same script call as the slice state that made them, removed once published.
   */
  detectorUnsent(bucket: number): string {
    return `${this.prefix}:ds:{ds:${bucket}}:~unsent`;
  }

  /**
   * Sorted set of the bucket's slices whose TTL could not be bounded when they were saved (the watermark
   * was not known yet: a new stream, partitions not heard from), so they took the longest TTL: member
   * `<kind>:<key>`, score its expiry in event time. A tick lowers each TTL once the watermark is known
   * (`SliceStore.boundTtls`) and removes the member. The set itself lasts as long as the slices last
   * filed in it.
   */
  detectorTtlPending(bucket: number): string {
    return `${this.prefix}:ds:{ds:${bucket}}:~ttl`;
  }

  /** Sorted set of the bucket's slices with a pending decision: member `<kind>:<key>`, score its due event time. */
  detectorTimers(bucket: number): string {
    return `${this.prefix}:ds:{ds:${bucket}}:~timers`;
  }

  /**
   * Hash of the event-time record of every input partition, shared by every monitor instance: field
   * `<topic>/<partition>`, value `<watermark ms>|<Redis time ms it last accepted events>|<newest event
   * time accepted>|<the stream's newest as it last read it>|<version>` (savePartition-3.lua); and field
   * `~settled:<topic>`, the watermark up to which decisions were settled. The detectors run by the
   * lowest watermark among the partitions that are not idle (processors/engine/partition-watermarks.ts).
   */
  detectorWatermarks(): string {
    return `${this.prefix}:ds:{ds:wm}:watermarks`;
  }

  /** The events one input partition holds until later events confirm their time (JSON), same hash tag as the watermarks. */
  detectorHeld(partition: string): string {
    return `${this.prefix}:ds:{ds:wm}:held:${partition}`;
  }

  /**
   * Hash of one input partition's resident detector state: the slices of the partition-local detectors
   * (field `<kind>:<key>`, value `{"s":state,"k":matchKey}`) and its marks (`~o`, the highest Kafka
   * offset it holds; `~a`/`~z`, the first and last eventId of the batch it last took). Written only with
   * the partition's record, by savePartition-3.lua, hence under the same hash tag.
   */
  detectorResident(partition: string): string {
    return `${this.prefix}:ds:{ds:wm}:resident:${partition}`;
  }

  /** Hash of the input topics' partition counts as the last start saw them (field: topic): partition-layout.ts. */
  detectorLayout(): string {
    return `${this.prefix}:ds:{ds:wm}:layout`;
  }

  // ── breakers (protocol v1, docs/breaker-protocol.md; layout in @vigil/breaker-client) ──
  /** The hash holding one breaker's state: `<prefix>:brk:{<scope>:<id>}:state`. */
  breakerState(scope: string, id: string): string {
    return this.breakers.state(scope, id);
  }

  /** Hash of the findings applied to one breaker (findingId → trip transition JSON or ''): trip idempotency; same hash tag as its state. */
  breakerFindings(scope: string, id: string): string {
    return this.breakers.findings(scope, id);
  }

  /** The breaker's audit outbox stream (override transitions not yet on the Kafka audit topic); same hash tag as its state. */
  breakerAudit(scope: string, id: string): string {
    return this.breakers.audit(scope, id);
  }

  /** Sorted set of the breakers whose audit outbox may hold records, scored by the latest write deadline. */
  breakerAuditPending(): string {
    return this.breakers.auditPending();
  }

  /** The lease of the one monitor that relays the audit outboxes. */
  breakerAuditRelayLease(): string {
    return this.breakers.auditRelayLease();
  }

  /** The set indexing every stored breaker (`<scope>:<id>`), read by BreakerStore.list(). */
  breakerIndex(): string {
    return this.breakers.index();
  }

  /** SCAN MATCH pattern of every breaker state hash under this prefix (BreakerStore.reindex() only). */
  breakerStatePattern(): string {
    return `${this.prefix}:brk:*:state`;
  }

  /** Pub/sub channel on which every breaker transition is published (JSON). */
  breakerTransitionsChannel(): string {
    return this.breakers.transitionsChannel();
  }

  // ── compensations (sagas) ─────────────────────────────────────────────────
  // Every saga key shares the hash tag {cmp}: compensations are rare (one per finding that undoes an
  // action), and one slot lets each saga script see the relay's lease, queues and counter atomically.
  /** One saga, by the event it undoes: hash {fe, fid, cmd, st, att, want, seq, sending, deadline, …}. */
  sagaState(forEventId: string): string {
    return `${this.prefix}:cmp:{cmp}:saga:${forEventId}`;
  }

  /** Sorted set: forEventId → when the relay must look at the saga next (send, re-send, time out). */
  sagaDue(): string {
    return `${this.prefix}:cmp:{cmp}:due`;
  }

  /** Sorted set: forEventId → the sequence number of its command in the Kafka transaction in flight. */
  sagaInflight(): string {
    return `${this.prefix}:cmp:{cmp}:inflight`;
  }

  /** Counter of command sequence numbers (the relay's transactional checkpoint counts in it). */
  sagaSeq(): string {
    return `${this.prefix}:cmp:{cmp}:seq`;
  }

  /** Sorted set: forEventId → when it was escalated (timed out after the last re-send), until handled. */
  sagaEscalations(): string {
    return `${this.prefix}:cmp:{cmp}:escalate`;
  }

  /** The command relay's lease: the one instance that produces commands holds it. */
  compensationRelayLease(): string {
    return `${this.prefix}:cmp:{cmp}:lease`;
  }

  // ── notifications (incidents and their outbox) ────────────────────────────
  // Every key shares the hash tag {ntf}: notifications are rare, and one slot lets one script update an
  // incident, its timer and the outbox together.
  /** One incident (an anomaly kind on one scope): hash {kind, st, sid, state, win, opened, n, …}. */
  incident(incidentId: string): string {
    return `${this.prefix}:ntf:{ntf}:inc:${incidentId}`;
  }

  /** Sorted set of the findingIds of an incident's current window, scored by arrival (Redis time). */
  incidentFindings(incidentId: string): string {
    return `${this.prefix}:ntf:{ntf}:inc:${incidentId}:findings`;
  }

  /** Sorted set: incidentId → when it needs attention next (first e-mail, reminder, alert re-push, resolution). */
  incidentTimers(): string {
    return `${this.prefix}:ntf:{ntf}:timers`;
  }

  /** The notification outbox: a stream of jobs {ch, inc, win, type, n} read by a consumer group. */
  notifyOutbox(): string {
    return `${this.prefix}:ntf:{ntf}:outbox`;
  }

  /** Marks one e-mail job as sent (its Message-ID derives from the same job id). */
  notifySent(jobId: string): string {
    return `${this.prefix}:ntf:{ntf}:sent:${jobId}`;
  }

  /** A short lease on one e-mail job while a sender is talking to SMTP. */
  notifySendLease(jobId: string): string {
    return `${this.prefix}:ntf:{ntf}:sending:${jobId}`;
  }

  // ── side effects keyed by findingId ───────────────────────────────────────
  /** Marks a finding's side effect (e-mail, compensation, breaker trip) as done. */
  findingEffect(effect: string, findingId: string): string {
    return `${this.prefix}:effect:${effect}:{${findingId}}`;
  }
}
