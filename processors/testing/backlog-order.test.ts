import { describe, expect, it } from 'vitest';
import { generateEvents } from '../../bench/gen-events.ts';
import { validateEvent } from '../core/validate-event.ts';
import { ALL_DETECTORS } from '../registry.ts';
import { createRuleSet } from '../engine/rule-set.ts';
import { backlogOrder, compareFindings, runInOrder } from './backlog-interleave.ts';
import { longOr } from '../../test/helpers/long-runs.ts';

// The live bench's case, offline: a topic full before the monitor starts is consumed partition by
// partition (a fetch of thousands of events each), so partitions run hours apart in event time, yet no
// event is behind the live watermark. `vigil run` must find what replay finds, ids included. Short:
// 30,000 events, 5,000 per fetch (main's detectors missed 2 unmasked_pii there); VIGIL_LONG=1: 300,000
// events, 50,000 per fetch (main missed 15).
const N = longOr(30_000, 300_000);
const CHUNK = longOr(5_000, 50_000);

describe('a backlog consumed partition by partition', () => {
  it(`gives replay's findings, ids included (${N} events of bench traffic, 6 partitions, ${CHUNK} per fetch)`, () => {
    const hours = Math.max(4, Math.round((60 * N) / 1_000_000)); // as bench/live-bench.ts
    const events = [...generateEvents({ events: N, seed: 7, hours })].map((l) => validateEvent(JSON.parse(l)));
    const rules = createRuleSet({ detectors: ALL_DETECTORS });
    const inFile = runInOrder(ALL_DETECTORS, rules, events.map((e) => ({ e })));
    const backlog = backlogOrder(events, { partitions: 6, chunk: CHUNK });

    // Not vacuous: partitions far apart in event time, and agent-scoped findings to get right.
    const newest = new Array<number>(6).fill(-Infinity);
    let spread = 0;
    for (const { e, p } of backlog) {
      newest[p] = Math.max(newest[p]!, e.ts);
      if (newest.every((t) => t > -Infinity)) spread = Math.max(spread, Math.max(...newest) - Math.min(...newest));
    }
    expect(spread).toBeGreaterThan(3_600_000);
    expect(inFile.filter((f) => f.kind === 'unmasked_pii').length).toBeGreaterThan(0);

    const c = compareFindings(inFile, runInOrder(ALL_DETECTORS, rules, backlog, 6));
    expect({ onlyInFileOrder: c.onlyA.map((f) => `${f.kind} ${f.findingId}`), onlyInBacklogOrder: c.onlyB.map((f) => `${f.kind} ${f.findingId}`) }).toEqual({ onlyInFileOrder: [], onlyInBacklogOrder: [] });
    expect(c.b).toBe(c.a);
  }, longOr(30_000, 120_000));
});
