import { describe, expect, it } from 'vitest';
import { distinctEvents } from '../../bench/gen-events.ts';
import type { Finding } from '../core/finding.ts';
import { ALL_DETECTORS } from '../registry.ts';
import { createRuleSet } from './rule-set.ts';
import { SliceRunner } from './slice-runner.ts';

/**
 * SliceRunnerOptions.eventsUnique: an engine that dedupes upstream (replay, live) tells the detectors so,
 * and the bucket windows keep no eventIds of their open buckets. On events that are each applied once
 * it must change nothing: the same findings, ids and order included, over a day of traffic of every kind.
 */
describe('SliceRunner with eventsUnique', () => {
  const events = distinctEvents({ events: 20_000, seed: 11, hours: 24 });
  const rules = createRuleSet({ detectors: ALL_DETECTORS });
  const run = (eventsUnique: boolean) => {
    const found: Finding[] = [];
    const r = new SliceRunner({ detectors: ALL_DETECTORS, rules, eventsUnique, onFinding: (f) => found.push(f) });
    let withIds = 0; // open buckets holding eventIds, summed over samples along the run
    events.forEach((e, i) => {
      r.process(e);
      if (i % 500 === 0) {
        for (const slot of r.allSlots()) {
          const w = (slot.state as { w?: { b?: { ids?: string[] }[] } | null } | undefined)?.w;
          for (const b of w?.b ?? []) if (b.ids !== undefined && b.ids.length > 0) withIds++;
        }
      }
    });
    r.advance(Infinity);
    r.settleDue();
    return { found, withIds };
  };

  it('gives exactly the findings of a runner that keeps the ids, and keeps none', () => {
    expect(new Set(events.map((e) => e.eventId)).size).toBe(events.length);
    const kept = run(false);
    const unique = run(true);
    expect(kept.found.length).toBeGreaterThan(20);
    expect(new Set(kept.found.map((f) => f.kind)).size).toBeGreaterThan(8);
    expect(unique.found.map((f) => `${f.findingId} ${f.summary}`)).toEqual(kept.found.map((f) => `${f.findingId} ${f.summary}`));
    expect(kept.withIds).toBeGreaterThan(0); // the windows do keep ids without it
    expect(unique.withIds).toBe(0);
  });
});
