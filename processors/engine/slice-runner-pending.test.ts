import { describe, expect, it } from 'vitest';
import { distinctEvents } from '../../bench/gen-events.ts';
import { ALL_DETECTORS } from '../registry.ts';
import { createRuleSet } from './rule-set.ts';
import { SliceRunner } from './slice-runner.ts';

/**
 * SliceRunner.pendingOf counts the slots with a pending decision as dues change, so that the metrics'
 * pending decisions (read every 10 s live) never walk a partition's million resident slots. Checked
 * against that walk all along a day of traffic, in both modes, and as a live pass takes its touched slots.
 */
describe('SliceRunner pending counts', () => {
  const events = distinctEvents({ events: 12_000, seed: 5, hours: 24 });
  const rules = createRuleSet({ detectors: ALL_DETECTORS });
  const walk = (r: SliceRunner) => {
    const n = ALL_DETECTORS.map(() => 0);
    for (const s of r.allSlots()) if (s.due < Infinity) n[s.det]!++;
    return n;
  };
  const counted = (r: SliceRunner) => ALL_DETECTORS.map((_, i) => r.pendingOf(i));

  it.each([false, true])('equal a walk over the slots at every step (track mode %s)', (track) => {
    const r = new SliceRunner({ detectors: ALL_DETECTORS, rules, track, onFinding: () => {} });
    let checks = 0;
    let pendingSeen = 0;
    events.forEach((e, i) => {
      r.process(e);
      if (i % 400 === 0) {
        if (track) r.takeTouched();
        expect(counted(r)).toEqual(walk(r));
        pendingSeen += walk(r).reduce((a, b) => a + b, 0);
        checks++;
      }
    });
    r.advance(events.at(-1)!.ts + 3_600_000);
    expect(counted(r)).toEqual(walk(r));
    r.finish();
    expect(counted(r).every((n) => n === 0)).toBe(true);
    expect(checks).toBeGreaterThan(20);
    expect(pendingSeen).toBeGreaterThan(50); // the traffic does leave decisions pending
  });
});
