import { beforeEach, describe, expect, it } from 'vitest';
import { ALL_DETECTORS } from '../registry.ts';
import { ANOMALY_KINDS } from '../core/finding.ts';
import { replayAll } from '../engine/replay-engine.ts';
import { runDetectors, shuffleWithinLateness } from './run-detectors.ts';
import { expectOrderIndependent } from './order-independence.ts';
import { oneOfEachKind } from './mixed-scenario.ts';
import { resetEventIds } from './event-builders.ts';

describe('all detectors over a stream with one anomaly of each kind', () => {
  beforeEach(() => resetEventIds());

  it('finds each anomaly exactly once, and nothing else', () => {
    const findings = runDetectors(ALL_DETECTORS, oneOfEachKind()).findings;
    expect(findings.map((f) => f.kind).sort()).toEqual([...ANOMALY_KINDS].sort());
  });

  it('finds the same, ids included, in every arrival order within the lateness and with redeliveries', () => {
    expectOrderIndependent(ALL_DETECTORS, oneOfEachKind(), {}, [11, 12, 13]);
  });

  it('finds the same in the replay engine as in the test harness, in order and shuffled', () => {
    const events = oneOfEachKind();
    const expected = runDetectors(ALL_DETECTORS, events).findings.map((f) => f.findingId).sort();
    expect(replayAll(ALL_DETECTORS, events).map((f) => f.findingId).sort()).toEqual(expected);
    const shuffled = shuffleWithinLateness(events, 5000, 21, 20);
    expect(replayAll(ALL_DETECTORS, shuffled).map((f) => f.findingId).sort()).toEqual(expected);
  });
});
