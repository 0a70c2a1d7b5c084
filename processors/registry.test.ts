import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { ALL_DETECTORS } from './registry.ts';
import { ANOMALY_KINDS } from './core/finding.ts';
import { validateEvent } from './core/validate-event.ts';
import { runDetectors } from './testing/run-detectors.ts';

const sample = readFileSync(new URL('../samples/normal-traffic.jsonl', import.meta.url), 'utf8')
  .split('\n')
  .filter(Boolean)
  .map((l) => validateEvent(JSON.parse(l)));

describe('ALL_DETECTORS', () => {
  it('holds one detector per anomaly kind, in the contract\'s order', () => {
    expect(ALL_DETECTORS.map((d) => d.kind)).toEqual([...ANOMALY_KINDS]);
  });

  it('gives every detector flat, JSON-able defaults and a severity', () => {
    for (const d of ALL_DETECTORS) {
      for (const v of Object.values(d.defaults)) expect(['number', 'string', 'boolean']).toContain(typeof v);
      expect(['info', 'warning', 'critical']).toContain(d.severity);
    }
  });

  it('finds nothing in the normal traffic of samples/normal-traffic.jsonl', () => {
    expect(sample.length).toBeGreaterThan(0);
    const { findings } = runDetectors(ALL_DETECTORS, sample);
    expect(findings.map((f) => `${f.kind}: ${f.summary}`)).toEqual([]);
  });

  it('ignores events no detector needs without creating state', () => {
    const parsed = sample.filter((e) => e.type === 'intent.parsed');
    const { slices } = runDetectors(ALL_DETECTORS, parsed, { settleAtEnd: false });
    for (const map of slices.values()) expect(map.size).toBe(0);
  });
});
