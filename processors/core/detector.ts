import type { ValidEvent } from './events.ts';
import type { ActionTarget, AnomalyKind, Scope, Severity, Subjects } from './finding.ts';

/**
 * A detector: pure (state, event) → (state, detections), deciding on event time only. It imports
 * nothing that does I/O. The same code runs in `vigil replay` (memory state) and in `vigil run`
 * (Redis state shared by every monitor instance).
 *
 * State is sliced by key: `keyOf(event)` names the one slice an event reads and writes (for example
 * `agent:<agentId>` or `intent:<userId>:<intentId>`). Slices are independent, which lets the live
 * engine load, update and save them per Kafka batch and retry one slice on a concurrent update.
 * A slice must be plain JSON data (it is stored as JSON in Redis).
 */
export interface Detector<S = unknown, P extends Params = Params> {
  readonly kind: AnomalyKind;
  /** Severity of its findings unless a detection says otherwise. */
  readonly severity: Severity;
  /** The contract's defaults; a policy overrides them per environment, plan, agent or vendor. */
  readonly defaults: P;
  /**
   * Every key it gives holds the event's userId, the input's Kafka key (docs/event-contract.md): each
   * slice is fed by one input partition only, so `vigil run` keeps it resident with that partition
   * (docs/live-engine.md, "partition-resident state") and decides it by the partition's own event time.
   * Set by settleOverdueFirstPartitionLocal; test/detection/partition-local.test.ts checks it on traffic.
   */
  readonly partitionLocal?: boolean;
  /**
   * The state property holding a bucket window (processors/shared/bucket-window.ts), if any: `vigil run`
   * stores that window one bucket per Redis field and rewrites only the buckets that changed
   * (src/detection/slice-parts.ts). Storage only: nothing the detector decides depends on it.
   */
  readonly windowField?: string;
  /** The state slice this event belongs to, or undefined when the detector ignores the event. */
  keyOf(e: ValidEvent): string | undefined;
  /** A new, empty slice. */
  init(): S;
  /** Applies one event (which may arrive out of order, within or beyond the lateness). May mutate `state`. */
  onEvent(state: S, e: ValidEvent, ctx: DetectorContext<P>): S;
  /**
   * Settles the decisions that wait on the absence of an event and are due at or before `watermark`
   * (event time). At the end of a replay it is called with +Infinity. May mutate `state`.
   */
  onWatermark?(state: S, watermark: number, ctx: SettleContext): S;
  /** Event time of the earliest pending decision in the slice, if any (the engine's timer). */
  nextDue?(state: S): number | undefined;
  /** Event time after which no window needs this slice: the stores drop it then. */
  expiresAt(state: S): number;
}

/** Threshold and window parameters: flat, numbers (ms, counts, ratios) or strings. */
export type Params = Record<string, number | string | boolean>;

/** What a detector reports; the engine makes it a Finding (id, rule, policy version, shadow). */
export interface Detection {
  scope: Scope;
  /** Evidence, the triggering event included. */
  eventIds: string[];
  /** Event time (ms) of the event that completed the evidence. */
  detectedAt: number;
  summary: string;
  severity?: Severity;
  traceIds?: string[];
  metrics?: Record<string, number>;
  /** Distinct agents and users behind the evidence (bounded, sorted), where the slice knows them. */
  subjects?: Subjects;
  /** The one action the detection is about, where there is one (what a compensation would undo). */
  target?: ActionTarget;
}

export interface SettleContext {
  /** The engine's allowed lateness, so a detector can tell when an absence is final. */
  readonly latenessMs: number;
  /**
   * The engine's event-time watermark at this call (−Infinity before any event): decisions due at or
   * before it are final. In `onEvent` the engine has already moved it for this event (to at most
   * `e.ts − latenessMs`) and settled what that made due. Live, it is the lowest watermark of the Kafka
   * partitions, so it can trail `e.ts − latenessMs` by far more than the lateness: a slice that
   * several partitions feed (agent, vendor) must settle on this, never on its own newest event time.
   * (Optional only so that hand-made contexts in tests keep compiling; the engine always sets it.)
   */
  readonly watermark?: number;
  /**
   * The engine applies each eventId at most once: it dedupes upstream (`vigil replay` on eventId; live,
   * the ingest dedupe by eventId and each slice's offsets), so a detector need not remember ids to
   * ignore a redelivery. Unset (hand-made contexts, the redelivery tests of runDetectors): it must.
   */
  readonly eventsUnique?: boolean;
  emit(d: Detection): void;
}

export interface DetectorContext<P extends Params = Params> extends SettleContext {
  /** This event's parameters, the policy resolved for its environment, plan, agent and vendor. */
  readonly params: P;
}
