import { errorKind, type ErrorKind } from '../errors/error-kind.ts';
import { Backoff, type BackoffOptions } from '../errors/retry-policy.ts';
import type { BatchStage } from './batch-processor.ts';
import { PoisonLimitError } from './poison-isolation.ts';

/** What to do after a delivery of a batch failed. */
export type FailureDecision =
  /** Wait `delayMs`, then run the batch again (in the current mode). */
  | { action: 'retry'; delayMs: number; kind: ErrorKind; why: RetryWhy }
  /** Run the batch again at once, isolating the events the handler fails on. */
  | { action: 'isolate'; kind: ErrorKind };

export type RetryWhy =
  /** A dependency is down or refusing: retried without limit, never dead-lettered for. */
  | 'dependency'
  /** The handler failed with an unknown error: retried up to maxAttempts, then isolated. */
  | 'handler'
  /** Something other than the handler failed, not because a dependency is down: a bug; retried without limit. */
  | 'bug'
  /** The poison limit was reached: the partition is held, retried without limit, nothing more dead-lettered. */
  | 'held';

export interface BatchFailureOptions {
  /** Deliveries of a batch whose handler fails with an unknown error before it is isolated (≥ 1). */
  maxAttempts: number;
  /** Delays between retries. Default: from 100 ms, at most 5 s, decorrelated jitter. */
  backoff?: BackoffOptions;
}

/**
 * The retry decisions of one delivery of one batch (ingest-service keeps one per eachBatch call):
 *
 * - a transient error (Redis, Kafka, the registry down; see error-kind.ts) waits and retries, forever,
 *   never counting towards isolation: good events are never dead-lettered because a dependency is down;
 * - the handler failing with a permanent error, or with an unknown one `maxAttempts` times, switches to
 *   isolation (batch-processor.ts), which dead-letters only the events that fail on their own;
 * - any other failure (a bug outside the handler, isolation past its poison limit) waits and retries:
 *   nothing can be blamed on one event there, and nothing is lost by waiting.
 * Every wait comes from one Backoff: exponential, with jitter, capped.
 */
export class BatchFailures {
  private readonly maxAttempts: number;
  private readonly backoff: Backoff;
  private handlerFailures = 0;
  /** 'normal' until isolation starts; 'held' once the poison limit was reached. */
  mode: 'normal' | 'isolate' | 'held' = 'normal';

  constructor(opts: BatchFailureOptions) {
    this.maxAttempts = Math.max(1, opts.maxAttempts);
    this.backoff = new Backoff(opts.backoff ?? { initialMs: 100, maxMs: 5000 });
  }

  /** Retries so far (of any kind). */
  get retries(): number {
    return this.backoff.attempts;
  }

  decide(error: unknown, stage: BatchStage): FailureDecision {
    if (error instanceof PoisonLimitError) this.mode = 'held';
    const kind = errorKind(error);
    const retry = (why: RetryWhy): FailureDecision => ({ action: 'retry', delayMs: this.backoff.next(), kind, why });
    if (this.mode === 'held') return retry('held');
    if (kind === 'transient') return retry('dependency');
    if (stage !== 'handle') return retry('bug');
    if (this.mode === 'isolate') return retry('bug'); // isolation handles the handler's failures itself
    this.handlerFailures++;
    if (kind === 'permanent' || this.handlerFailures >= this.maxAttempts) {
      this.mode = 'isolate';
      return { action: 'isolate', kind };
    }
    return retry('handler');
  }

  /** A pause between tries of one suspect event during isolation. */
  pauseMs(): number {
    return this.backoff.next();
  }
}
