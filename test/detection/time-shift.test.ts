import { describe, expect, it } from 'vitest';
import { generateEvents } from '../../bench/gen-events.ts';
import { validateEvent } from '../../processors/core/validate-event.ts';
import { ReplayEngine } from '../../processors/engine/replay-engine.ts';
import { ALL_DETECTORS } from '../../processors/registry.ts';
import type { Finding } from '../../processors/core/finding.ts';

/** 60 × 365 days: whole days, so every window's buckets line up the same after the shift. */
const SHIFT_MS = 60 * 365 * 86_400_000;

function findings(lines: readonly string[], shiftMs: number): string[] {
  const out: Finding[] = [];
  const engine = new ReplayEngine({ detectors: ALL_DETECTORS, onFinding: (f) => out.push(f) });
  for (const line of lines) {
    const raw = JSON.parse(line) as { occurredAt: string };
    raw.occurredAt = new Date(Date.parse(raw.occurredAt) - shiftMs).toISOString();
    engine.push(validateEvent(raw));
  }
  engine.finish();
  return out.map((f) => `${f.kind} ${f.scope.type}:${f.scope.id} ${f.eventIds.join(',')}`);
}

/**
 * Event time is just a number to the detectors: the same traffic sixty years earlier (before 1970, so
 * negative epoch times) gives the same findings, evidence included. A slice's "nothing seen yet" must
 * not be time 0.
 */
describe('detectors on event times before 1970', () => {
  it('find the same anomalies, with the same evidence, in traffic moved sixty years back', () => {
    const lines = [...generateEvents({ events: 20_000, seed: 5, hours: 6 })];
    const now = findings(lines, 0);
    expect(now.length).toBeGreaterThan(10);
    expect(findings(lines, SHIFT_MS)).toEqual(now);
  });
});
