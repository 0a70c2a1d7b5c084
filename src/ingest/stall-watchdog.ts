/**
 * Notices a consumer that stopped making progress: no fetch, heartbeat or batch for `stallMs` (the
 * kafkajs loop died or hangs), or a batch in flight for longer than `stallMs` (a dependency hangs).
 * Several batches may be in flight (one per partition, kafka.partitionsConcurrently): the oldest counts.
 * It only reports; the ingest service decides what to do (restart the consumer, log).
 */
export class StallWatchdog {
  private lastProgress = Date.now();
  /** Start time of each batch in flight, by token. */
  private readonly inFlight = new Map<number, number>();
  private nextToken = 0;
  private reportedBatch = false;
  private timer: NodeJS.Timeout | undefined;
  private readonly stallMs: number;
  private readonly on: { onStalledBatch(ms: number): void; onStalledConsumer(ms: number): void };

  constructor(stallMs: number, on: { onStalledBatch(ms: number): void; onStalledConsumer(ms: number): void }) {
    this.stallMs = stallMs;
    this.on = on;
  }

  start(): void {
    this.lastProgress = Date.now();
    this.timer = setInterval(() => this.check(Date.now()), Math.max(250, Math.min(5000, this.stallMs / 4)));
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  progress(): void {
    this.lastProgress = Date.now();
  }

  /** A batch starts: returns the token to end it with. */
  batchStarted(): number {
    const token = this.nextToken++;
    if (this.inFlight.size === 0) this.reportedBatch = false;
    this.inFlight.set(token, Date.now());
    return token;
  }

  batchEnded(token: number): void {
    this.inFlight.delete(token);
    if (this.inFlight.size === 0) this.reportedBatch = false;
    this.lastProgress = Date.now();
  }

  /** Exposed for tests: evaluates the watchdog at time `now`. */
  check(now: number): void {
    if (this.inFlight.size > 0) {
      let oldest = Infinity;
      for (const t of this.inFlight.values()) if (t < oldest) oldest = t;
      const ms = now - oldest;
      if (ms > this.stallMs && !this.reportedBatch) {
        this.reportedBatch = true;
        this.on.onStalledBatch(ms);
      }
      return;
    }
    const idle = now - this.lastProgress;
    if (idle > this.stallMs) {
      this.lastProgress = now;
      this.on.onStalledConsumer(idle);
    }
  }
}
