import { VigilError } from './vigil-error.ts';

/**
 * Work that did not finish in time. Retriable by default: a dependency that is slow or down now may
 * answer on the next attempt (errorKind classifies it `transient`).
 */
export class TimeoutError extends VigilError {
  readonly timeoutMs: number;
  constructor(message: string, timeoutMs: number, opts: { retriable?: boolean; cause?: unknown } = {}) {
    super(message, { retriable: opts.retriable ?? true, ...(opts.cause === undefined ? {} : { cause: opts.cause }) });
    this.timeoutMs = timeoutMs;
  }
}

/**
 * `work`'s result, or a rejection once `ms` have passed first: with a TimeoutError saying
 * "<onTimeout> did not finish within <ms> ms" for a string, or with the error `onTimeout()` returns
 * (built when the time is up, so it can say how far the work got; a module keeps its own retriable
 * error type that way). The timer is cleared when the work settles first; a rejection of the work
 * after the timeout won is handled (never unhandled). The work itself is not cancelled.
 */
export function withTimeout<T>(work: Promise<T>, ms: number, onTimeout: string | (() => Error)): Promise<T> {
  work.catch(() => {}); // it may settle after the timeout won
  if (!(ms >= 0) || !Number.isFinite(ms)) return Promise.reject(new RangeError(`withTimeout needs a finite timeout ≥ 0 ms, got ${ms}`));
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(typeof onTimeout === 'string' ? new TimeoutError(`${onTimeout} did not finish within ${ms} ms`, ms) : onTimeout()), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Waits for `work` at most `ms`: true when it resolved in time, false when the time ran out first (the
 * work goes on; a later rejection is handled). Rejects when the work rejected in time. For waits that
 * give up quietly (serve the last snapshot, start anyway) rather than fail.
 */
export async function settlesWithin(work: Promise<unknown>, ms: number): Promise<boolean> {
  const ranOut = new Error('timed out');
  try {
    await withTimeout(work, ms, () => ranOut);
    return true;
  } catch (e) {
    if (e === ranOut) return false;
    throw e;
  }
}
