import { describe, expect, it } from 'vitest';
import { distinctEvents } from '../../bench/gen-events.ts';
import type { Finding } from '../core/finding.ts';
import { ALL_DETECTORS } from '../registry.ts';
import { createRuleSet } from './rule-set.ts';
import { SliceRunner } from './slice-runner.ts';

/**
 * A resident runner freezes each slot it saved (its state kept as the JSON just written) and thaws it
 * before any detector call. Freezing must change nothing: the same findings, in the same order, as a
 * runner that never freezes, on a day of traffic with every kind, whatever is frozen when.
 */
describe('SliceRunner freeze and thaw', () => {
  const events = distinctEvents({ events: 15_000, seed: 9, hours: 24 });
  const rules = createRuleSet({ detectors: ALL_DETECTORS });
  const run = (freezeEvery: number | undefined) => {
    const found: Finding[] = [];
    const r = new SliceRunner({ detectors: ALL_DETECTORS, rules, track: true, onFinding: (f) => found.push(f) });
    let frozen = 0;
    events.forEach((e, i) => {
      r.process(e);
      if (freezeEvery !== undefined && i % freezeEvery === 0) {
        for (const slot of r.takeTouched()) {
          if (slot.dropped) continue;
          r.freeze(slot, JSON.stringify(slot.state));
          frozen++;
        }
      }
    });
    const stillFrozen = [...r.allSlots()].filter((s) => s.frozen !== undefined).length;
    r.finish();
    return { found, frozen, stillFrozen };
  };

  it('gives the findings of a runner that never freezes, frozen after every event or every 300', () => {
    const plain = run(undefined);
    expect(plain.found.length).toBeGreaterThan(10);
    for (const every of [1, 300]) {
      const f = run(every);
      expect(f.frozen).toBeGreaterThan(1000);
      expect(f.stillFrozen).toBeGreaterThan(0);
      expect(f.found).toEqual(plain.found);
    }
  });
});
