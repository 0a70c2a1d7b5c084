/**
 * Retry delays with exponential backoff and jitter (the model: cockatiel's ExponentialBackoff and its
 * generators). Jitter matters after an outage: without it every instance that failed at the same moment
 * retries at the same moments too, and hits the recovering dependency in lockstep.
 *
 * - `decorrelated` (the default): Polly's "decorrelated jitter V2" as cockatiel has it: the median
 *   delays grow ×2 per attempt from `initialMs`, each one drawn at random, no two instances in step;
 * - `full`: uniform in [0, min(maxMs, initialMs·2ⁿ));
 * - `half`: uniform in [d/2, d) for d = min(maxMs, initialMs·2ⁿ), never (almost) zero;
 * - `none`: d itself (tests that want exact delays).
 */
export type Jitter = 'decorrelated' | 'full' | 'half' | 'none';

export interface BackoffOptions {
  /** The first delay (its median with jitter), ms. */
  initialMs: number;
  /** No delay is longer than this, ms. */
  maxMs: number;
  /** Default 'decorrelated'. */
  jitter?: Jitter;
  /** A uniform random number in [0, 1) (tests pass a fixed sequence). Default Math.random. */
  random?: () => number;
}

/** Smooths the first decorrelated delays (Polly's pFactor). */
const P_FACTOR = 4;
/** Scales the decorrelated medians to about initialMs·2ⁿ (Polly's rpScalingFactor). */
const RP_SCALING = 1 / 1.4;

/**
 * The delays of one run of retries: next() gives the delay before the next attempt, reset() starts
 * over (after a success). Not shared between runs: each batch or connection keeps its own.
 */
export class Backoff {
  private readonly opts: Required<BackoffOptions>;
  private n = 0;
  private prev = 0;

  constructor(opts: BackoffOptions) {
    if (!(opts.initialMs > 0) || !(opts.maxMs >= opts.initialMs)) {
      throw new RangeError(`backoff needs 0 < initialMs ≤ maxMs (got ${opts.initialMs}, ${opts.maxMs})`);
    }
    this.opts = { jitter: 'decorrelated', random: Math.random, ...opts };
  }

  /** Attempts delayed so far. */
  get attempts(): number {
    return this.n;
  }

  /** The delay before the next attempt, ms (a whole number, ≥ 0, ≤ maxMs). */
  next(): number {
    const { initialMs, maxMs, jitter, random } = this.opts;
    const attempt = this.n++;
    if (jitter === 'decorrelated') {
      const t = attempt + random();
      const next = 2 ** t * Math.tanh(Math.sqrt(P_FACTOR * t));
      const step = Number.isFinite(next) ? Math.max(0, next - this.prev) : Infinity;
      this.prev = next;
      return Math.round(Math.min(step * RP_SCALING * initialMs, maxMs));
    }
    return jittered(expDelay(attempt, initialMs, maxMs), jitter, random);
  }

  reset(): void {
    this.n = 0;
    this.prev = 0;
  }
}

/** min(maxMs, initialMs·2^attempt) without overflowing for a large attempt. */
function expDelay(attempt: number, initialMs: number, maxMs: number): number {
  return attempt >= 52 ? maxMs : Math.min(maxMs, initialMs * 2 ** attempt);
}

function jittered(d: number, jitter: Exclude<Jitter, 'decorrelated'>, random: () => number): number {
  if (jitter === 'full') return Math.floor(random() * d);
  if (jitter === 'half') return Math.floor((d + random() * d) / 2);
  return d;
}

/**
 * A stateless delay for a retry counter kept elsewhere (ioredis's retryStrategy gives `times`):
 * `half` jitter, so a reconnect never waits (almost) zero and instances fall out of step.
 */
export function backoffDelay(attempt: number, initialMs: number, maxMs: number, random: () => number = Math.random): number {
  return jittered(expDelay(Math.max(0, attempt), initialMs, maxMs), 'half', random);
}

/** Resolves after `ms`; with a signal, early (without rejecting) when it aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
