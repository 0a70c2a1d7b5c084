import { describe, expect, it } from 'vitest';
import { StallWatchdog } from './stall-watchdog.ts';

describe('StallWatchdog', () => {
  const make = () => {
    const seen: string[] = [];
    const w = new StallWatchdog(1000, { onStalledBatch: (ms) => seen.push(`batch:${ms}`), onStalledConsumer: (ms) => seen.push(`consumer:${ms}`) });
    return { w, seen };
  };

  it('reports a consumer that made no progress for longer than the timeout, once per stall', () => {
    const { w, seen } = make();
    const t0 = Date.now();
    w.progress();
    w.check(t0 + 500);
    expect(seen).toEqual([]);
    w.check(t0 + 1500);
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatch(/^consumer:/);
    w.check(t0 + 1600); // the clock restarts after a report
    expect(seen).toHaveLength(1);
  });

  it('reports a batch in flight for too long instead of restarting the consumer under it', () => {
    const { w, seen } = make();
    const t0 = Date.now();
    const token = w.batchStarted();
    w.check(t0 + 5000);
    w.check(t0 + 6000);
    expect(seen.filter((s) => s.startsWith('batch:'))).toHaveLength(1);
    expect(seen.some((s) => s.startsWith('consumer:'))).toBe(false);
    w.batchEnded(token);
    w.check(Date.now() + 100);
    expect(seen).toHaveLength(1);
  });

  it('with several batches in flight (one per partition), a hung one is reported though the others finish', () => {
    const { w, seen } = make();
    const t0 = Date.now();
    const hung = w.batchStarted();
    for (let i = 0; i < 5; i++) w.batchEnded(w.batchStarted()); // other partitions' batches come and go
    w.check(t0 + 1500);
    expect(seen.filter((s) => s.startsWith('batch:'))).toHaveLength(1);
    expect(seen.some((s) => s.startsWith('consumer:'))).toBe(false);
    w.batchEnded(hung);
    w.check(Date.now() + 100);
    expect(seen).toHaveLength(1);
  });
});
