import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import type { AgentEvent } from '../../processors/core/events.ts';
import type { Finding } from '../../processors/core/finding.ts';
import { validateEvent } from '../../processors/core/validate-event.ts';
import { replayCommand } from '../cli/replay.ts';
import { SCENARIOS, scenariosNamed } from './scenarios.ts';
import { Simulator } from './simulator.ts';

const dir = mkdtempSync(join(tmpdir(), 'vigil-sim-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const START = Date.parse('2026-11-20T00:00:00.000Z');

function all(o: ConstructorParameters<typeof Simulator>[0], chunkMs = 60_000): { sim: Simulator; events: AgentEvent[] } {
  const sim = new Simulator(o);
  const events: AgentEvent[] = [];
  for (let t = o.start + chunkMs; ; t += chunkMs) {
    events.push(...sim.until(t));
    if (sim.doneAt(t)) break;
  }
  return { sim, events };
}

/** Runs `vigil replay` (every detector, the bundled policy, event-time rules) over the events. */
async function replay(events: readonly AgentEvent[], name: string): Promise<{ findings: Finding[]; stderr: string }> {
  const file = join(dir, `${name}.jsonl`);
  writeFileSync(file, events.map((e) => JSON.stringify(e)).join('\n') + '\n');
  let out = '';
  let err = '';
  const stdout = Object.assign(new PassThrough(), { write: (c: string) => ((out += String(c)), true) });
  const stderr = Object.assign(new PassThrough(), { write: (c: string) => ((err += String(c)), true) });
  expect(await replayCommand([file, '--format', 'jsonl', '--workers', '1'], { stdout, stderr, stdin: new PassThrough() })).toBe(0);
  return { findings: out.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Finding), stderr: err };
}

describe('vigil simulate', () => {
  it('gives the same events for the same options, however the pulls are cut up', () => {
    const o = { seed: 42, rate: 80, start: START, durationMs: 120_000, scenarios: scenariosNamed('all') };
    const a = all(o, 60_000).events;
    const b = all(o, 7_321).events;
    expect(a.length).toBeGreaterThan(5000);
    expect(b.length).toBe(a.length);
    expect(b.findIndex((e, i) => JSON.stringify(e) !== JSON.stringify(a[i]))).toBe(-1);
    expect(all({ ...o, seed: 43 }).events[0]!.eventId).not.toBe(a[0]!.eventId);
  });

  it('writes valid events, in event-time order, at about the rate asked', () => {
    const { events } = all({ seed: 7, rate: 120, start: START, durationMs: 300_000 });
    let last = 0;
    for (const e of events) {
      validateEvent(structuredClone(e));
      const t = Date.parse(e.occurredAt);
      expect(t).toBeGreaterThanOrEqual(last);
      last = t;
    }
    expect(new Set(events.map((e) => e.eventId)).size).toBe(events.length);
    expect(events.length / 300).toBeGreaterThan(100);
    expect(events.length / 300).toBeLessThan(140);
    const types = new Set(events.map((e) => e.type));
    for (const t of ['confirmation.rejected', 'stepup.passed', 'action.failed', 'compensation.succeeded', 'consent.revoked', 'consent.granted']) expect(types).toContain(t);
    expect(events.some((e) => e.type === 'action.requested' && (e.attempt ?? 1) > 1)).toBe(true);
  });

  // VIGIL_SIM_LONG=1: six hours instead of twenty minutes
  const hours = process.env.VIGIL_SIM_LONG === '1' ? 6 : 1 / 3;
  it(`normal traffic raises no finding (${hours} h at 60 events/s, replayed with every detector)`, async () => {
    const { events } = all({ seed: 2026, rate: 60, start: START, durationMs: hours * 3_600_000 });
    expect(events.length).toBeGreaterThan(hours * 3600 * 50);
    const { findings, stderr } = await replay(events, 'normal');
    expect(findings.map((f) => `${f.kind} ${f.scope.type}:${f.scope.id}: ${f.summary}`)).toEqual([]);
    expect(stderr).toContain('0 findings');
    expect(stderr).not.toContain('out of bounds');
  });

  it('every scenario raises findings of its kind on its scope, and nothing else does', async () => {
    // 8 minutes: event time moves past the 5-minute wait of orphaned actions
    const { sim, events } = all({ seed: 99, rate: 20, start: START, durationMs: 480_000, scenarios: scenariosNamed('all') });
    expect(sim.injected.map((i) => i.scenario)).toEqual(SCENARIOS.map((s) => s.name));
    const { findings } = await replay(events, 'scenarios');
    const key = (x: { kind: string; scope: { type: string; id: string } }) => `${x.kind} ${x.scope.type}:${x.scope.id}`;
    expect([...new Set(findings.map(key))].sort()).toEqual(sim.injected.map(key).sort());
    expect(new Set(findings.map((f) => f.kind)).size).toBe(15);
  });

  it('refuses an unknown scenario, naming the known ones', () => {
    expect(() => scenariosNamed('retry-storm,nope')).toThrow(/unknown scenario "nope": one of pii-leak, .*, or all/);
  });
});
