/**
 * Notices a consumer that stopped making progress: no fetch, heartbeat or batch for `stallMs` (the
 * kafkajs loop died or hangs), or one batch in flight for longer than `stallMs` (a dependency hangs).
 * It only reports; the ingest service decides what to do (restart the consumer, log).
 */
export class StallWatchdog {
  private lastProgress = Date.now();
  private batchSince: number | undefined;
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

  batchStarted(): void {
    this.batchSince = Date.now();
    this.reportedBatch = false;
  }

  batchEnded(): void {
    this.batchSince = undefined;
    this.lastProgress = Date.now();
  }

  /** Exposed for tests: evaluates the watchdog at time `now`. */
  check(now: number): void {
    if (this.batchSince !== undefined) {
      const ms = now - this.batchSince;
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
