import { describe, expect, it } from 'vitest';
import { reportLines, type DemoPlaces } from './demo-report.ts';
import type { DemoSnapshot } from './demo-state.ts';

const places: DemoPlaces = {
  run: 'r', seed: 7, rate: 50, durationS: 90, consoleUrl: undefined, metricsUrl: undefined, adminToken: 't',
  mailDir: '/tmp/mail', mailTo: 'oncall@vigil.test', mailFiles: [], kept: false,
};

function snapshot(published: number, consumed: number): DemoSnapshot {
  return {
    elapsedMs: 100_000, trafficMs: 90_000, trafficTotalMs: 90_000, published, consumed, publishedPerSecond: 0, consumedPerSecond: 0,
    findings: [], findingsByKind: {}, unexpected: [], scenarios: [], breakers: [], opened: [],
    compensations: { requested: 0, succeeded: 0, failed: 0, answered: 0 }, emails: { queued: 0, sent: 0, failed: 0 },
    alerts: undefined, firstFindingAfterMs: 13_900,
  };
}

describe('the demo report', () => {
  it('says every event was consumed when the monitor caught up', () => {
    const last = reportLines(snapshot(5034, 5034), places).at(-1);
    expect(last).toBe('  first finding 13.9 s after the command; 5034 events published, all consumed');
  });

  it('says the rest were in flight when the wait ended short of them, so it does not read as a loss', () => {
    const last = reportLines(snapshot(5034, 5033), places).at(-1);
    expect(last).toBe('  first finding 13.9 s after the command; 5034 events published, 5033 consumed (the rest were still in flight when the wait ended)');
  });
});
