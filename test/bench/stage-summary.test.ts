import { describe, expect, it } from 'vitest';
import { summarizeStages } from '../../bench/live/stage-summary.ts';

const line = (s: number, consumed: number, handle: number, wait = 0) =>
  JSON.stringify({ ts: new Date(Date.UTC(2026, 10, 30, 5, 0, s)).toISOString(), level: 'debug', msg: 'batch committed', partition: 0, consumed, stageMs: { decode: 1, dedupe: 2, wait, handle, deadLetter: 0, mark: 3, commit: 4 } });

describe('bench/live/stage-summary.ts', () => {
  it('sums a debug log: batches per second, events per batch, stage means and p99, how busy the detectors were', () => {
    const log = [
      '{"ts":"2026-11-30T05:00:00.000Z","level":"info","msg":"consuming"}',
      'not json at all',
      ...Array.from({ length: 101 }, (_, i) => line(i, 100, 500, i === 50 || i === 60 ? 90 : 10)), // one batch a second, 0.5 s in the detectors; two waited long
    ].join('\n');
    const s = summarizeStages(log, { skipS: 0, tailS: 0 });
    expect(s.batches).toBe(101);
    expect(s.seconds).toBe(100);
    expect(s.eventsPerBatch).toBe(100);
    expect(s.stages.handle).toEqual({ mean: 500, p99: 500 });
    expect(s.stages.wait!.mean).toBeCloseTo(10 + 160 / 101, 6);
    expect(s.stages.wait!.p99).toBe(90); // nearest rank: the 100th of 101
    expect(s.stages.decode).toEqual({ mean: 1, p99: 1 });
    expect(s.handleBusy).toBeCloseTo(50.5 / 100, 6);
  });

  it('leaves out the start and the end it is told to', () => {
    const log = Array.from({ length: 100 }, (_, i) => line(i, i < 30 ? 1 : 10, 5)).join('\n');
    expect(summarizeStages(log, { skipS: 30, tailS: 9 }).eventsPerBatch).toBe(10);
  });

  it('says what is wrong with a log without stage times, and with a window left empty', () => {
    expect(() => summarizeStages('{"ts":"2026-11-30T05:00:00.000Z","msg":"consuming"}')).toThrow(/VIGIL_LOG_LEVEL=debug/);
    expect(() => summarizeStages(line(0, 1, 1), { skipS: 30, tailS: 15 })).toThrow(/no batches between/);
  });
});
