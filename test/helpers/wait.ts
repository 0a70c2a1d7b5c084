import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Small generic helpers for integration tests against the real stack (the kafkajs testHelpers habit):
 * random names so tests never share topics, groups or keys, and polling with a clear message on timeout.
 */

/** `<prefix>-<12 hex chars>`: a topic, group or key prefix no other test (or run) uses. */
export function randomName(prefix: string): string {
  return `${prefix}-${randomBytes(6).toString('hex')}`;
}

/** Options of waitFor. */
export interface WaitForOptions {
  /** Give up after this long (default 30 s). */
  timeoutMs?: number;
  /** Poll this often (default 50 ms). */
  intervalMs?: number;
  /** What we wait for, for the timeout message: "the consumer to see 10 messages". */
  description?: string;
}

/**
 * Polls `fn` until it returns a truthy value, and resolves with that value. On timeout, rejects with an
 * error naming `description`, the time waited and the last error `fn` threw (errors count as "not yet").
 */
export async function waitFor<T>(fn: () => T | Promise<T>, opts: WaitForOptions = {}): Promise<NonNullable<T>> {
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const intervalMs = opts.intervalMs ?? 50;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await fn();
      if (value) return value as NonNullable<T>;
    } catch (e) {
      lastError = e;
    }
    if (Date.now() >= deadline) {
      const why = lastError === undefined ? '' : ` (last error: ${lastError instanceof Error ? lastError.message : String(lastError)})`;
      throw new Error(`waitFor: timed out after ${timeoutMs} ms waiting for ${opts.description ?? 'a condition'}${why}`);
    }
    await sleep(intervalMs);
  }
}
