import { describe, expect, it } from 'vitest';
import { combineWatermarks, explainWatermark, type PartitionMark } from './partition-watermarks.ts';

const mark = (n: number, watermark: number, at: number): PartitionMark => ({ partition: `t/${n}`, watermark, newest: watermark + 5000, at });
const IDLE = 30_000;

describe('combineWatermarks', () => {
  it('is the lowest watermark of the active partitions, and names the one holding the rest back', () => {
    const c = combineWatermarks({ topic: 't', marks: [mark(0, 500, 100_000), mark(1, 200, 100_000), mark(2, 900, 100_000)], now: 101_000, idleMs: IDLE, firstSeenAt: 0 });
    expect(c.watermark).toBe(200);
    expect(c.activeMin).toBe(200);
    expect(c.heldBackBy).toBe('t/1');
    expect(c.newest).toBe(5900);
    expect(explainWatermark(c, IDLE)).toMatch(/^partition t\/1 holds event time back: its watermark .* trails 2 other partition\(s\)/);
  });

  it('leaves out a partition quiet for longer than the idle time', () => {
    const c = combineWatermarks({ topic: 't', marks: [mark(0, 500, 100_000), mark(1, 200, 60_000)], now: 101_000, idleMs: IDLE, firstSeenAt: 0 });
    expect(c.watermark).toBe(500);
    expect(c.partitions.map((p) => p.state)).toEqual(['active', 'idle']);
  });

  it('holds everything back for a partition that never spoke, until the idle time after the topic was first seen; then it is idle like a quiet one', () => {
    const input = { topic: 't', marks: [mark(0, 500, 100_000), mark(1, 700, 100_000)], partitions: 3, idleMs: IDLE, firstSeenAt: 90_000 };
    const early = combineWatermarks({ ...input, now: 100_000 });
    expect(early.watermark).toBe(-Infinity);
    expect(early.heldBackBy).toBe('t/2');
    expect(early.partitions.map((p) => p.state)).toEqual(['active', 'active', 'waiting']);
    expect(explainWatermark(early, IDLE)).toBe('partition t/2 has not sent an event yet; it stops holding event time back in 20 s (idle)');
    const later = combineWatermarks({ ...input, now: 120_001 });
    expect(later.watermark).toBe(500);
    expect(later.partitions.map((p) => p.state)).toEqual(['active', 'active', 'never_spoke']);
    expect(later.neverSpoke).toBe(1);
  });

  it('when every partition is quiet, is the highest watermark: where vigil replay of the same events stops', () => {
    const c = combineWatermarks({ topic: 't', marks: [mark(0, 500, 10_000), mark(1, 700, 20_000)], partitions: 3, now: 200_000, idleMs: IDLE, firstSeenAt: 0 });
    expect(c.watermark).toBe(700);
    expect(c.activeMin).toBe(Infinity);
    expect(c.idle).toBe(3);
    expect(explainWatermark(c, IDLE)).toMatch(/^no traffic: every partition has been quiet for more than 30 s, so event time stays at the newest event seen \(1970-01-01T00:00:05.700Z\)/);
  });

  it('ignores other topics and the excluded partition (a batch caps itself by the others only)', () => {
    const c = combineWatermarks({ topic: 't', marks: [mark(0, 500, 100_000), { ...mark(1, 100, 100_000), partition: 'other/1' }, mark(2, 50, 100_000)], now: 100_000, idleMs: IDLE, firstSeenAt: 0, exclude: 't/2' });
    expect(c.partitions.map((p) => p.partition)).toEqual(['t/0']);
    expect(c.activeMin).toBe(500);
  });

  it('says when nothing has spoken yet', () => {
    const c = combineWatermarks({ topic: 't', marks: [], partitions: 2, now: 1000, idleMs: IDLE, firstSeenAt: 0 });
    expect(c.watermark).toBe(-Infinity);
    expect(explainWatermark(c, IDLE)).toBe('no traffic yet: no partition has sent an event');
  });
});
