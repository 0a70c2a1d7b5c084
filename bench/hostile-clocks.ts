import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { generateEvents, type InjectedAnomaly } from './gen-events.ts';

/**
 * What two events with hostile clocks do to `vigil replay`: held-out synthetic traffic (bench/gen-events.ts,
 * a seed the tests do not use) with its injected anomalies known, replayed as it is and with one copy of a
 * normal event dated ten years ahead and one dated ten years back. Prints the findings per kind, the
 * recall against the injected anomalies and the findings that match none of them, for this checkout and
 * for any other checkout given with --baseline (e.g. the main branch, to compare before and after).
 *
 *   node bench/hostile-clocks.ts [--events 34000] [--seed 9] [--hours 6] [--out DIR] [--baseline DIR]…
 */

const TEN_YEARS_MS = 3652 * 86_400_000;
const here = resolve(fileURLToPath(new URL('..', import.meta.url)));

interface Finding {
  findingId: string;
  kind: string;
  scope: { type: string; id: string };
  detectedAt: string;
  eventIds: string[];
}

interface Score {
  byKind: Record<string, number>;
  findings: number;
  found: number;
  expected: number;
  missed: string[];
  unexpected: Record<string, number>;
  stderrTail: string;
}

/** Writes the clean and the hostile file and the list of injected anomalies; returns their paths. */
function writeTraffic(opts: { events: number; seed: number; hours: number }, dir: string) {
  mkdirSync(dir, { recursive: true });
  const injected: InjectedAnomaly[] = [];
  const lines = [...generateEvents(opts, (a) => injected.push(a))];
  const clean = join(dir, 'clean.jsonl');
  writeFileSync(clean, lines.join('\n') + '\n');
  // One copy of an ordinary request a third of the way in, dated ten years ahead; another two thirds in, ten years back.
  const copy = (at: number, shiftMs: number, id: string) => {
    let i = at;
    while (!lines[i]!.includes('"type":"action.requested"')) i++;
    const e = JSON.parse(lines[i]!) as Record<string, unknown>;
    e.eventId = id;
    e.occurredAt = new Date(Date.parse(e.occurredAt as string) + shiftMs).toISOString();
    return JSON.stringify(e);
  };
  const hostile = [...lines];
  const third = Math.floor(lines.length / 3);
  hostile.splice(2 * third, 0, copy(2 * third, -TEN_YEARS_MS, '00000000-0000-4000-a000-00000000past'));
  hostile.splice(third, 0, copy(third, TEN_YEARS_MS, '00000000-0000-4000-a000-000000future'));
  const hostileFile = join(dir, 'hostile.jsonl');
  writeFileSync(hostileFile, hostile.join('\n') + '\n');
  // Only what the file holds counts: the generator may report an anomaly past its cut.
  const last = Math.max(...lines.map((l) => Date.parse((JSON.parse(l) as { occurredAt: string }).occurredAt)));
  const intentOf = new Map<string, string>();
  const intents = new Set<string>();
  for (const l of lines) {
    const e = JSON.parse(l) as { eventId: string; intentId?: string };
    if (e.intentId) {
      intentOf.set(e.eventId, e.intentId);
      intents.add(e.intentId);
    }
  }
  const expected = injected.filter((a) => (a.intentId ? intents.has(a.intentId) : a.at <= last));
  writeFileSync(join(dir, 'injected.json'), JSON.stringify(expected, null, 1));
  return { clean, hostile: hostileFile, expected, intentOf };
}

function matches(a: InjectedAnomaly, f: Finding, intentOf: Map<string, string>): boolean {
  if (a.kind !== f.kind) return false;
  if (a.intentId) return f.eventIds.some((id) => intentOf.get(id) === a.intentId);
  const t = Date.parse(f.detectedAt);
  return f.scope.type === a.scope!.type && f.scope.id === a.scope!.id && t >= a.at - 300_000 && t <= a.at + 1_800_000;
}

function score(findings: Finding[], expected: InjectedAnomaly[], intentOf: Map<string, string>, stderr: string): Score {
  const byKind: Record<string, number> = {};
  for (const f of findings) byKind[f.kind] = (byKind[f.kind] ?? 0) + 1;
  const missed = expected.filter((a) => !findings.some((f) => matches(a, f, intentOf)));
  const unexpected: Record<string, number> = {};
  for (const f of findings) if (!expected.some((a) => matches(a, f, intentOf))) unexpected[f.kind] = (unexpected[f.kind] ?? 0) + 1;
  const tail = stderr.trim().split('\n').filter((l) => !l.startsWith('line ')).join(' / ');
  return { byKind, findings: findings.length, found: expected.length - missed.length, expected: expected.length, missed: missed.map((a) => `${a.kind} ${a.intentId ?? `${a.scope!.type}:${a.scope!.id}`}`), unexpected, stderrTail: tail };
}

/** `vigil replay FILE` of the checkout at `root`, run from a directory without a policy file (each uses its bundled policy). */
function replay(root: string, file: string, cwd: string): { findings: Finding[]; stderr: string } {
  const r = spawnSync(process.execPath, [join(root, 'src/cli/main.ts'), 'replay', file, '--format', 'jsonl'], { cwd, encoding: 'utf8', maxBuffer: 1 << 30 });
  if (r.status !== 0) throw new Error(`vigil replay in ${root} exited ${r.status}: ${r.stderr}`);
  return { findings: r.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Finding), stderr: r.stderr };
}

function show(label: string, s: Score): string {
  const kinds = Object.entries(s.byKind).sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k} ${n}`).join(', ');
  const unexpected = Object.entries(s.unexpected).map(([k, n]) => `${k} ${n}`).join(', ') || 'none';
  return [
    `${label}: ${s.findings} findings; recall ${s.found}/${s.expected}; unexpected: ${unexpected}`,
    `    per kind: ${kinds}`,
    ...(s.missed.length ? [`    missed: ${s.missed.join('; ')}`] : []),
    `    summary: ${s.stderrTail}`,
  ].join('\n');
}

if (import.meta.main) {
  const { values } = parseArgs({
    options: {
      events: { type: 'string' },
      seed: { type: 'string' },
      hours: { type: 'string' },
      out: { type: 'string' },
      baseline: { type: 'string', multiple: true },
    },
  });
  const opts = { events: Number(values.events ?? 34_000), seed: Number(values.seed ?? 9), hours: Number(values.hours ?? 6) };
  const dir = resolve(values.out ?? join(here, '.cache/bench/hostile-clocks'));
  const { clean, hostile, expected, intentOf } = writeTraffic(opts, dir);
  const cwd = join(dir, 'run');
  mkdirSync(cwd, { recursive: true });
  process.stdout.write(`traffic: ${opts.events} events, seed ${opts.seed}, ${opts.hours} h; ${expected.length} injected anomalies; files in ${dir}\n`);
  const checkouts = [...(values.baseline ?? []).map((b) => resolve(b)), here];
  for (const root of checkouts) {
    const name = root === here ? `this checkout (${root})` : `baseline ${root}`;
    for (const [label, file] of [['clean', clean], ['two hostile clocks', hostile]] as const) {
      const r = replay(root, file, cwd);
      process.stdout.write(show(`${name}, ${label}`, score(r.findings, expected, intentOf, r.stderr)) + '\n');
      writeFileSync(join(dir, `${root === here ? 'this' : 'baseline'}-${label.replace(/ /g, '-')}.findings.jsonl`), r.findings.map((f) => JSON.stringify(f)).join('\n') + '\n');
    }
  }
}
