import { createReadStream, mkdirSync, writeFileSync } from 'node:fs';
import { Writable } from 'node:stream';
import { availableParallelism, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { validateEvent } from '../processors/core/validate-event.ts';
import { ALL_DETECTORS } from '../processors/registry.ts';
import { readLines, replayCommand } from '../src/cli/replay.ts';
import { ensureEventsFile } from './gen-events.ts';

/**
 * `vigil replay` throughput and memory on synthetic traffic (bench/gen-events.ts), against a baseline
 * measured in the same run: reading, JSON.parse and validation only. Prints events/s (wall clock and
 * per CPU second: the machine may be shared), the ratio, and heap/RSS at 25/50/75/100% of the events,
 * and writes bench/results/replay.md. Run with --expose-gc (bench/run-all.ts does) for steady heap
 * figures.
 *
 *   node --expose-gc bench/replay-bench.ts [--events 1000000] [--seed 42] [--hours 96]
 */

const { values } = parseArgs({ options: { events: { type: 'string' }, seed: { type: 'string' }, hours: { type: 'string' }, out: { type: 'string' } } });
const opts = { events: Number(values.events ?? 1_000_000), seed: Number(values.seed ?? 42), hours: Number(values.hours ?? 96) };
const gc = (globalThis as { gc?: () => void }).gc;

interface Run {
  label: string;
  events: number;
  wallS: number;
  cpuS: number;
  memory: { at: string; heapMb: number; rssMb: number }[];
}

function mb(n: number): number {
  return Math.round((n / 1048576) * 10) / 10;
}

/** Samples memory (after a full GC when exposed); returns the ms spent in that GC, excluded from timings. */
function sample(at: string, into: Run['memory']): number {
  const t = performance.now();
  gc?.();
  const m = process.memoryUsage();
  into.push({ at, heapMb: mb(m.heapUsed), rssMb: mb(m.rss) });
  return performance.now() - t;
}

function checkpoints(total: number): { at: number; label: string }[] {
  return [0.25, 0.5, 0.75].map((f) => ({ at: Math.floor(total * f), label: `${f * 100}%` }));
}

async function baseline(file: string): Promise<Run> {
  const run: Run = { label: 'baseline: read + JSON.parse + validate', events: 0, wallS: 0, cpuS: 0, memory: [] };
  const marks = checkpoints(opts.events);
  let excluded = 0;
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  let lines = 0;
  for await (const chunk of readLines(createReadStream(file, { highWaterMark: 1 << 20 }))) {
    for (const line of chunk) {
      lines++;
      if (line.length === 0) continue;
      try {
        validateEvent(JSON.parse(line));
        run.events++;
      } catch {
        // counted as a bad line by replay; none in generated traffic
      }
    }
    while (marks.length > 0 && lines >= marks[0]!.at) excluded += sample(marks.shift()!.label, run.memory);
  }
  excluded += sample('100%', run.memory);
  run.wallS = (performance.now() - t0 - excluded) / 1000;
  const c = process.cpuUsage(c0);
  run.cpuS = (c.user + c.system) / 1e6 - excluded / 1000;
  return run;
}

async function fullReplay(file: string, workers: number): Promise<Run & { summary: string }> {
  const label = `vigil replay, all ${ALL_DETECTORS.length} detectors, ${workers === 1 ? '1 thread' : `--workers ${workers}`}`;
  const run: Run & { summary: string } = { label, events: 0, wallS: 0, cpuS: 0, memory: [], summary: '' };
  const marks = checkpoints(opts.events);
  let excluded = 0;
  let findings = 0;
  const stdout = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) findings++;
      cb();
    },
  });
  let stderr = '';
  const err = new Writable({
    write(chunk: Buffer, _enc, cb) {
      stderr += chunk.toString();
      cb();
    },
  });
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const code = await replayCommand([file, '--format', 'jsonl', '--workers', String(workers)], { stdout, stderr: err, stdin: process.stdin }, {
    onProgress(lines) {
      while (marks.length > 0 && lines >= marks[0]!.at) excluded += sample(marks.shift()!.label, run.memory);
    },
  });
  excluded += sample('100%', run.memory);
  run.wallS = (performance.now() - t0 - excluded) / 1000;
  const c = process.cpuUsage(c0);
  run.cpuS = (c.user + c.system) / 1e6 - excluded / 1000;
  if (code !== 0) throw new Error(`vigil replay exited ${code}: ${stderr}`);
  run.summary = stderr.trim().split('\n').at(-1) ?? '';
  run.events = Number(/replayed (\d+) events/.exec(run.summary)?.[1] ?? 0);
  void findings;
  return run;
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

const file = await ensureEventsFile(opts);
process.stderr.write(`replay bench: ${file} (load average ${loadavg().map((l) => l.toFixed(1)).join(' ')})\n`);
const base = await baseline(file);
const full = await fullReplay(file, 1);
const parallel = await fullReplay(file, 2);
const rate = (r: Run) => r.events / r.wallS;
const cpuRate = (r: Run) => r.events / r.cpuS;

const lines: string[] = [];
lines.push(`# vigil replay benchmark`);
lines.push('');
lines.push(`${new Date().toISOString()} · Node ${process.version} · ${opts.events.toLocaleString('en-US')} events (seed ${opts.seed}, ${opts.hours} h of event time) · \`npm run bench\``);
lines.push('');
lines.push('| run | events | wall s | events/s (wall) | events/s (per CPU s) |');
lines.push('|---|---:|---:|---:|---:|');
for (const r of [base, full, parallel]) lines.push(`| ${r.label} | ${fmt(r.events)} | ${r.wallS.toFixed(2)} | ${fmt(rate(r))} | ${fmt(cpuRate(r))} |`);
lines.push('');
lines.push(`Ratio full / baseline: ${(rate(full) / rate(base)).toFixed(2)} (wall), ${(cpuRate(full) / cpuRate(base)).toFixed(2)} (CPU); with --workers 2: ${(rate(parallel) / rate(base)).toFixed(2)} (wall).`);
const best = Math.max(rate(full), rate(parallel));
lines.push(`Target ≥ 100,000 events/s with every detector on: ${best >= 100_000 ? 'met' : 'NOT met'} (best wall figure ${fmt(best)}/s; load average at the end ${loadavg().map((l) => l.toFixed(1)).join(' ')} on ${availableParallelism()} cores).`);
lines.push('');
lines.push(`Replay summary: ${full.summary}`);
lines.push('');
lines.push(`Memory${gc ? ' (after a full GC)' : ' (no --expose-gc: raw figures)'}:`);
lines.push('');
lines.push('| progress | baseline heap MB | baseline RSS MB | replay heap MB | replay RSS MB | --workers 2 RSS MB |');
lines.push('|---|---:|---:|---:|---:|---:|');
for (let i = 0; i < full.memory.length; i++) {
  const b = base.memory[i];
  const f = full.memory[i]!;
  lines.push(`| ${f.at} | ${b?.heapMb ?? ''} | ${b?.rssMb ?? ''} | ${f.heapMb} | ${f.rssMb} | ${parallel.memory[i]?.rssMb ?? ''} |`);
}
lines.push('');
lines.push('Heap is the main thread\'s (with --workers 2 the reading thread\'s heap is in the RSS). The 100% row is after the end-of-replay settle, when all state is freed. --workers 2: one thread reads, parses and validates, the other dedupes and runs every detector (same findings in the same order as 1 thread).');
lines.push('');
const text = lines.join('\n');
process.stdout.write(text);
mkdirSync('bench/results', { recursive: true });
writeFileSync(values.out ?? 'bench/results/replay.md', text);
