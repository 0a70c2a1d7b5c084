/**
 * The detectors' own cost, apart from the engine: keyOf, a slice Map, onEvent, nextDue, expiresAt and
 * the watermark settling of a minimal loop, over synthetic traffic (bench/gen-events.ts), per detector
 * and for all fifteen, in CPU time (the machine may be shared), against a baseline measured in the same
 * run: JSON.parse + validation of the same lines. The engine's full replay figures are bench/replay-bench.ts's.
 *
 *   node processors/testing/bench-detectors.ts [--events 300000] [--seed 42]
 */
import { parseArgs } from 'node:util';
import { generateEvents } from '../../bench/gen-events.ts';
import type { Detector } from '../core/detector.ts';
import type { ValidEvent } from '../core/events.ts';
import { validateEvent } from '../core/validate-event.ts';
import { ALL_DETECTORS } from '../registry.ts';

const { values } = parseArgs({ options: { events: { type: 'string' }, seed: { type: 'string' } } });
const n = Number(values.events ?? 300_000);
const lines = [...generateEvents({ events: n, seed: Number(values.seed ?? 42), hours: (96 * n) / 1_000_000 })];
const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

function baseline(): { ms: number; events: ValidEvent[] } {
  const t = cpuMs();
  const events = lines.map((l) => validateEvent(JSON.parse(l)));
  return { ms: cpuMs() - t, events };
}

function run(dets: readonly Detector<any, any>[], events: readonly ValidEvent[]): { ms: number; keyed: number; findings: number } {
  const maps = dets.map(() => new Map<string, unknown>());
  let findings = 0;
  const ctxs = dets.map((d) => ({ params: d.defaults, latenessMs: 5000, emit: () => void findings++ }));
  const due = dets.map(() => new Set<string>());
  let keyed = 0;
  let max = -Infinity;
  const t = cpuMs();
  for (const e of events) {
    if (e.ts > max) max = e.ts;
    const wm = max - 5000;
    for (let i = 0; i < dets.length; i++) {
      const d = dets[i]!;
      const key = d.keyOf(e);
      if (key === undefined) continue;
      keyed++;
      const m = maps[i]!;
      const s = d.onEvent(m.get(key) ?? d.init(), e, ctxs[i]!);
      m.set(key, s);
      if (d.nextDue?.(s) !== undefined) due[i]!.add(key);
      d.expiresAt(s);
    }
    // Settle pending slices every 1024 slice updates, drop expired ones every 16384 (the engine keeps
    // a timer heap and expiry buckets instead).
    if ((keyed & 1023) === 0) settle(dets, maps, due, ctxs, wm, (keyed & 16383) === 0);
  }
  settle(dets, maps, due, ctxs, Infinity);
  return { ms: cpuMs() - t, keyed, findings };
}

function settle(dets: readonly Detector<any, any>[], maps: Map<string, unknown>[], due: Set<string>[], ctxs: any[], wm: number, sweep = true): void {
  for (let i = 0; i < dets.length; i++) {
    const d = dets[i]!;
    for (const key of due[i]!) {
      const s = maps[i]!.get(key);
      const at = d.nextDue!(s);
      if (at === undefined) due[i]!.delete(key);
      else if (at <= wm) {
        const after = d.onWatermark!(s, wm, ctxs[i]);
        if (d.nextDue!(after) === undefined) due[i]!.delete(key);
      }
    }
    if (sweep) for (const [key, s] of maps[i]!) if (d.expiresAt(s) < wm) maps[i]!.delete(key);
  }
}

const base = baseline();
const per = (ms: number) => ((ms / base.events.length) * 1000).toFixed(2);
console.log(`${base.events.length} events · baseline JSON.parse + validate: ${base.ms.toFixed(0)} ms CPU (${per(base.ms)} µs/event)`);
const all = run(ALL_DETECTORS, base.events);
console.log(`all 15 detectors: ${all.ms.toFixed(0)} ms CPU (${per(all.ms)} µs/event, ${(all.ms / base.ms).toFixed(2)}× baseline, ${(all.keyed / base.events.length).toFixed(2)} slices touched/event, ${all.findings} findings)`);
for (const d of ALL_DETECTORS) {
  const r = run([d], base.events);
  console.log(`  ${d.kind.padEnd(30)} ${per(r.ms).padStart(6)} µs/event  ${(r.ms / base.ms).toFixed(2)}× baseline  ${String(r.findings).padStart(4)} findings`);
}
