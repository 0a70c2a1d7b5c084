import { expect } from 'vitest';
import type { Detector } from '../core/detector.ts';
import type { ValidEvent } from '../core/events.ts';
import { runDetectors, shuffleWithinLateness, stable, type RunOptions, type TestFinding } from './run-detectors.ts';

/**
 * Runs `detectors` over `events` in event-time order, then over several reorderings within the
 * lateness with some events delivered twice, and expects the very same findings (ids included) each
 * time. Returns the findings of the ordered run.
 */
export function expectOrderIndependent(
  detectors: readonly Detector<any, any>[],
  events: readonly ValidEvent[],
  options: RunOptions = {},
  seeds: readonly number[] = [1, 2, 3, 4, 5],
): TestFinding[] {
  const ordered = [...events].sort((a, b) => a.ts - b.ts);
  const base = runDetectors(detectors, ordered, options).findings;
  const latenessMs = options.latenessMs ?? 5000;
  for (const seed of seeds) {
    const shuffled = shuffleWithinLateness(ordered, latenessMs, seed, Math.ceil(events.length / 5));
    expect(stable(runDetectors(detectors, shuffled, options).findings), `seed ${seed}`).toEqual(stable(base));
  }
  return base;
}
