import type { KafkaMessage } from 'kafkajs';
import type { Detector } from '../../processors/core/detector.ts';
import type { Combined } from '../../processors/engine/partition-watermarks.ts';
import type { BatchHandler } from '../ingest/batch-handler.ts';
import type { Policy } from '../policy/load-policy.ts';
import type { RedisClient } from '../redis/connection.ts';
import type { KeyBuilder } from '../redis/keys.ts';
import type { Logger } from '../observability/logger.ts';
import type { FindingSink } from './finding-sink.ts';
import type { RefusedEvent } from './held-events.ts';
import type { ResidentStats } from './resident-state.ts';

// What the live engine (detection-handler.ts) takes, gives and keeps per partition.

export interface DetectionHandlerOptions {
  redis: RedisClient;
  keys: KeyBuilder;
  /** The policy, or a holder of the running one (read at the start of every batch). */
  policy: Policy | { current(): Policy };
  detectors: readonly Detector<any, any>[];
  sink: FindingSink;
  /** A Redis round trip that takes longer fails the batch (retriable). Default 5000 ms. */
  commandTimeoutMs?: number;
  /** Conflict re-runs of a batch before it fails (retriable). Default 50. */
  maxConflictRetries?: number;
  /** Longest TTL of a slice key, whatever its expiresAt says. Default 30 days. */
  maxTtlMs?: number;
  /**
   * A partition that has accepted no event for this long (Redis clock) is idle and no longer holds
   * the watermark back; so is one that never spoke, this long after the handler first saw the topic.
   * Default 30 s.
   */
  idlePartitionMs?: number;
  /** Slices held in memory at most (SliceCache; about 800 bytes each on the bench traffic). Default 30,000 (measured: see docs/live-engine.md). */
  maxCachedSlices?: number;
  /** Partitions of the input topic (config kafka.partitions): those without a record never spoke. */
  expectedPartitions?: number;
  /** The input topic, so `tick` can settle before the first batch (default: the topics batches came from). */
  topic?: string;
  /** Where events refused for their time go (live: the dead-letter topic). Default: nowhere (tests). */
  deadLetter?: (refused: readonly RefusedEvent[], source: { topic: string; partition: number }) => Promise<void>;
  /**
   * How old (Redis time) a finding filed as unsent must be before a tick publishes it: the pass that
   * filed it normally publishes it itself within milliseconds. Default 10,000 ms.
   */
  unsentGraceMs?: number;
  /** Where the handler says what a failed publish left behind (findings saved with their state, not yet sent). Default: nowhere. */
  logger?: Logger;
}

/** Counters a metrics module can read. */
export interface DetectionStats {
  batches: number;
  events: number;
  findings: number;
  slicesLoaded: number;
  slicesSaved: number;
  conflicts: number;
  /** Slices skipped because a previous attempt of the same batch had saved them. */
  replayedSlices: number;
  /** Events refused for their event time. */
  outOfBounds: number;
  /** Decisions settled by `tick` (idle partitions) rather than by a batch. */
  settledByTick: number;
  /** Findings a pass saved and left unsent (its publish failed, or it was killed) that a tick published. */
  sentByTick: number;
  /** Slices saved with the longest TTL before the watermark was known, whose TTL a tick then lowered. */
  ttlsBounded: number;
  /** The partition-resident state (resident-state.ts): restores, slices written and deleted. */
  resident: ResidentStats;
}

/** Where event time stands for a topic (from the last `tick`): for metrics, logs and /readyz. */
export interface WatermarkStatus {
  topic: string;
  /** Redis time of the reading (ms). */
  now: number;
  watermark: number;
  settled: number;
  combined: Combined;
  reason: string;
  /** Events held by the partitions this instance ran (their time not yet confirmed). */
  held: number;
  /** Slices of partition-local detectors this instance holds in memory for the topic's partitions it runs. */
  resident: number;
}

export type DetectionHandler = BatchHandler & {
  readonly stats: DetectionStats;
  /**
   * Periodic work that no batch brings: judges again the events partitions hold (the stream moved on
   * elsewhere, or a short input went quiet) and settles what the watermark allows now that quiet
   * partitions are idle. Returns where event time stands, per topic.
   */
  tick(): Promise<WatermarkStatus[]>;
  /** Slices of partition-local detectors held in memory, every partition this instance runs. */
  residentSlices(): number;
  /** Decisions waiting for the watermark to pass them (due after `after`), by anomaly kind: one read of every timer. */
  pendingByKind(after: number): Promise<Record<string, number>>;
};

export interface PartitionState {
  topic: string;
  partition: number;
  key: string;
  /** Events it holds (as of its last pass here). */
  held: number;
  /** A batch failed and will be retried: no tick pass meanwhile (it would change what the retry sees). */
  dirty: boolean;
  /** Redis time of its last batch here. */
  lastBatchAt: number;
  /** The stream's newest event time its last pass judged by, and whether it had no event time at all. */
  stream: number;
  clockless: boolean;
  chain: Promise<unknown>;
}
