import { describe, expect, it } from 'vitest';
import { errorKind } from './error-kind.ts';
import { settlesWithin, TimeoutError, withTimeout } from './timeout.ts';
import { isRetriable } from './vigil-error.ts';

const later = <T>(ms: number, value: T) => new Promise<T>((r) => setTimeout(() => r(value), ms));
const failLater = (ms: number, e: Error) => new Promise<never>((_, rej) => setTimeout(() => rej(e), ms));

describe('withTimeout', () => {
  it("gives the work's result when it is in time, and its own error when it fails in time", async () => {
    expect(await withTimeout(later(5, 'ok'), 1000, 'the work')).toBe('ok');
    await expect(withTimeout(failLater(5, new Error('boom')), 1000, 'the work')).rejects.toThrow('boom');
  });

  it('rejects with a retriable TimeoutError naming the work and the time when it is late', async () => {
    const e = await withTimeout(later(200, 'late'), 10, 'Redis PING').catch((x: unknown) => x);
    expect(e).toBeInstanceOf(TimeoutError);
    expect((e as TimeoutError).message).toBe('Redis PING did not finish within 10 ms');
    expect((e as TimeoutError).timeoutMs).toBe(10);
    expect(isRetriable(e)).toBe(true);
    expect(errorKind(e)).toBe('transient');
  });

  it("builds the caller's own error when the time is up (so it can say how far the work got)", async () => {
    let progress = 0;
    const work = new Promise<void>((r) => {
      const t = setInterval(() => ++progress >= 1000 && (clearInterval(t), r()), 1);
    });
    const e = await withTimeout(work, 20, () => new TimeoutError(`read ${progress} of 1000`, 20, { retriable: false })).catch((x: unknown) => x);
    expect((e as Error).message).toMatch(/^read [1-9]\d* of 1000$/);
    expect(isRetriable(e)).toBe(false);
  });

  it('leaves no unhandled rejection when the work fails after the timeout won', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (r: unknown) => void unhandled.push(r);
    process.on('unhandledRejection', onUnhandled);
    try {
      await expect(withTimeout(failLater(20, new Error('too late')), 5, 'the work')).rejects.toBeInstanceOf(TimeoutError);
      await later(40, null);
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  it('refuses a timeout that is not a finite number of ms, saying which', async () => {
    await expect(withTimeout(later(1, 1), Number.NaN, 'x')).rejects.toThrow('withTimeout needs a finite timeout ≥ 0 ms, got NaN');
    await expect(withTimeout(later(1, 1), -1, 'x')).rejects.toThrow(RangeError);
  });
});

describe('settlesWithin', () => {
  it('says whether the work resolved in time, and passes on a failure in time', async () => {
    expect(await settlesWithin(later(5, 'x'), 1000)).toBe(true);
    expect(await settlesWithin(later(200, 'x'), 10)).toBe(false);
    await expect(settlesWithin(failLater(5, new Error('refused')), 1000)).rejects.toThrow('refused');
  });
});
