import { describe, expect, it } from 'vitest';
import { distinctEvents } from '../bench/gen-events.ts';
import { ALL_DETECTORS } from './registry.ts';

/**
 * `partitionLocal` (processors/core/detector.ts) is what lets `vigil run` keep a detector's slices resident
 * with one input partition (src/detection/resident-state.ts). The input is keyed by userId, so the
 * declaration is true exactly when every key the detector gives belongs to one user. A detector marked
 * local whose keys mix users would split a slice between partitions and lose findings; one marked shared
 * needlessly only costs speed. Checked on generated traffic of every kind (bench/gen-events.ts).
 */
describe('partition-local detectors', () => {
  const events = distinctEvents({ events: 30_000, seed: 11, hours: 12 });
  const usersOfKeys = ALL_DETECTORS.map((d) => {
    const users = new Map<string, Set<string>>();
    for (const e of events) {
      const k = d.keyOf(e);
      if (k === undefined) continue;
      let s = users.get(k);
      if (s === undefined) users.set(k, (s = new Set()));
      s.add(e.userId);
    }
    return { kind: d.kind, local: d.partitionLocal === true, users };
  });

  it('every key of a detector marked partitionLocal belongs to one user, on traffic of every kind', () => {
    for (const { kind, local, users } of usersOfKeys) {
      if (!local) continue;
      expect(users.size, `${kind} keyed no event`).toBeGreaterThan(0);
      const mixed = [...users].filter(([, u]) => u.size > 1).map(([k, u]) => `${k}: ${[...u].slice(0, 3).join(', ')}`);
      expect(mixed, `${kind} keys fed by several users`).toEqual([]);
    }
  });

  it('the detectors not marked are the agent- and vendor-scoped ones: their keys do not name the user', () => {
    const shared = usersOfKeys.filter((d) => !d.local);
    expect(shared.map((d) => d.kind).sort()).toEqual(['confirmation_failure_spike', 'retry_spike', 'unmasked_pii', 'vendor_failure_rate']);
    for (const { kind, users } of shared) {
      expect(users.size, `${kind} keyed no event`).toBeGreaterThan(0);
      expect([...users].every(([k, u]) => ![...u].some((user) => k.includes(user))), kind).toBe(true);
    }
    // and on this traffic, agents and vendors serve several users each
    expect(shared.filter(({ users }) => [...users.values()].some((u) => u.size > 1)).length).toBeGreaterThanOrEqual(3);
  });
});
