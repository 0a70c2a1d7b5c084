import { describe, expect, it } from 'vitest';
import { VigilError } from '../errors/vigil-error.ts';
import { BatchFailures } from './batch-failures.ts';
import { PoisonLimitError } from './poison-isolation.ts';

const outage = () => new VigilError('Redis down', { retriable: true });

describe('BatchFailures', () => {
  it('a dependency down is retried without limit, with growing jittered delays, and never isolates', () => {
    const f = new BatchFailures({ maxAttempts: 2 });
    const delays: number[] = [];
    for (let i = 0; i < 200; i++) {
      const d = f.decide(outage(), 'handle');
      expect(d.action).toBe('retry');
      if (d.action === 'retry') delays.push(d.delayMs);
    }
    expect(f.mode).toBe('normal');
    expect(Math.max(...delays)).toBeLessThanOrEqual(5000);
    expect(Math.max(...delays.slice(100))).toBeGreaterThan(1000);
  });

  it('an unknown handler error is retried maxAttempts-1 times, then isolated', () => {
    const f = new BatchFailures({ maxAttempts: 3 });
    expect(f.decide(new TypeError('bug'), 'handle')).toMatchObject({ action: 'retry', why: 'handler' });
    expect(f.decide(outage(), 'handle')).toMatchObject({ action: 'retry', why: 'dependency' }); // does not count
    expect(f.decide(new TypeError('bug'), 'handle')).toMatchObject({ action: 'retry', why: 'handler' });
    expect(f.decide(new TypeError('bug'), 'handle')).toMatchObject({ action: 'isolate' });
    expect(f.mode).toBe('isolate');
  });

  it('a permanent handler error isolates at once; a bug outside the handler is retried, never isolated', () => {
    const f = new BatchFailures({ maxAttempts: 5 });
    for (let i = 0; i < 10; i++) expect(f.decide(new TypeError('bug in dedupe'), 'dedupe')).toMatchObject({ action: 'retry', why: 'bug' });
    expect(f.decide(new VigilError('bad', { retriable: false }), 'handle')).toMatchObject({ action: 'isolate' });
  });

  it('past the poison limit the partition is held: retried, never isolated again', () => {
    const f = new BatchFailures({ maxAttempts: 1 });
    expect(f.decide(new TypeError('bug'), 'handle').action).toBe('isolate');
    expect(f.decide(new PoisonLimitError(10, new TypeError('bug')), 'handle')).toMatchObject({ action: 'retry', why: 'held' });
    expect(f.decide(new TypeError('bug'), 'handle')).toMatchObject({ action: 'retry', why: 'held' });
    expect(f.mode).toBe('held');
  });
});
