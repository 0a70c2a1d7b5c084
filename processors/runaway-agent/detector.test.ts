import { beforeEach, describe, expect, it } from 'vitest';
import { runawayAgent } from './detector.ts';
import { runDetectors } from '../testing/run-detectors.ts';
import { expectOrderIndependent } from '../testing/order-independence.ts';
import { actionRequested, at, ids, resetEventIds, type EventOverrides } from '../testing/event-builders.ts';
import type { ValidEvent } from '../core/events.ts';

const run = (events: readonly ValidEvent[]) => runDetectors([runawayAgent], events).findings;
const actions = (n: number, everyS = 2, o: EventOverrides = {}, fromS = 0) =>
  Array.from({ length: n }, (_, k) => actionRequested({ at: fromS + k * everyS, intentId: `i-${fromS}-${k}`, ...o }));

describe('runaway_agent', () => {
  beforeEach(() => resetEventIds());

  it('fires when one agent starts 20 state-changing actions for one user in 60 s', () => {
    const events = actions(20, 3); // 20 over 57 s
    const f = run(events);
    expect(f).toHaveLength(1);
    expect(f[0]).toMatchObject({
      kind: 'runaway_agent',
      severity: 'critical',
      scope: { type: 'user', id: 'u_1' },
      eventIds: ids(events),
      detectedAt: at(57),
      metrics: { observed: 20, threshold: 20, windowMs: 60_000 },
    });
    expect(f[0]!.summary).toBe(
      'user u_1: agent travel-assistant started 20 state-changing actions in 60 s (threshold 20); the agent may be looping on this user\'s behalf',
    );
  });

  it('stays silent just below the threshold, on retries, on read-only actions, and across users or agents', () => {
    expect(run(actions(19, 3))).toEqual([]);
    expect(run(actions(20, 3.2))).toEqual([]);
    expect(run(actions(25, 1, { attempt: 2 }))).toEqual([]);
    expect(run(actions(25, 1, { action: { stateChanging: false } }))).toEqual([]);
    expect(run([...actions(10, 1), ...actions(10, 1, { userId: 'u_2' }), ...actions(10, 1, { agentId: 'other' })])).toEqual([]);
  });

  it('fires once while the agent keeps going', () => {
    expect(run(actions(200, 1))).toHaveLength(1);
  });

  it('gives the same findings whatever the arrival order within the lateness and with redeliveries', () => {
    const events = [...actions(30, 0.5), ...actions(15, 0.5, { userId: 'u_2' }), ...actions(25, 1, {}, 500)];
    const f = expectOrderIndependent([runawayAgent], events);
    expect(f.map((x) => x.eventIds.length)).toEqual([20, 20]);
  });
});
