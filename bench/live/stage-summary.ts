import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * Where a monitor's batches spent their time, from its debug log (`VIGIL_LOG_LEVEL=debug`: one `batch
 * committed` line per batch, with `stageMs`). Leaves out the first `skipS` and last `tailS` seconds of
 * batches (start-up and the end of a bench's load).
 *
 *   node bench/live/stage-summary.ts <monitor.log> [--skip 30] [--tail 15]
 *
 * With the live bench: VIGIL_BENCH_LOG_DIR=<dir> VIGIL_BENCH_LOG_LEVEL=debug node bench/live-bench.ts …,
 * then this on <dir>/latency.log (or throughput.log).
 */

export interface StageSummary {
  batches: number;
  seconds: number;
  batchesPerSecond: number;
  eventsPerBatch: number;
  /** Per stage: mean and p99 in ms. */
  stages: Record<string, { mean: number; p99: number }>;
  /** Share of the wall time the detectors' passes took (`handle` summed): near 1, they are the bottleneck. */
  handleBusy: number;
}

interface BatchLine {
  ts: string;
  msg: string;
  consumed: number;
  stageMs: Record<string, number>;
}

export function summarizeStages(log: string, opts: { skipS?: number; tailS?: number } = {}): StageSummary {
  const lines: BatchLine[] = [];
  for (const line of log.split('\n')) {
    if (!line.startsWith('{')) continue;
    let j: BatchLine;
    try {
      j = JSON.parse(line) as BatchLine;
    } catch {
      continue;
    }
    if (j.msg === 'batch committed' && j.stageMs !== undefined) lines.push(j);
  }
  if (lines.length === 0) throw new Error('no "batch committed" lines with stageMs: was the monitor logging at debug level (VIGIL_LOG_LEVEL=debug)?');
  const at = (j: BatchLine) => Date.parse(j.ts) / 1000;
  const from = at(lines[0]!) + (opts.skipS ?? 30);
  const to = at(lines.at(-1)!) - (opts.tailS ?? 15);
  const kept = lines.filter((j) => at(j) >= from && at(j) <= to);
  if (kept.length === 0) throw new Error(`no batches between ${opts.skipS ?? 30} s after the first and ${opts.tailS ?? 15} s before the last: use smaller --skip/--tail`);
  const seconds = Math.max(1e-3, to - from);
  const stages: StageSummary['stages'] = {};
  for (const stage of Object.keys(kept[0]!.stageMs)) {
    const xs = kept.map((j) => j.stageMs[stage] ?? 0).sort((a, b) => a - b);
    stages[stage] = { mean: xs.reduce((a, b) => a + b, 0) / xs.length, p99: xs[Math.min(xs.length - 1, Math.floor(xs.length * 0.99))]! };
  }
  const handle = kept.reduce((a, j) => a + (j.stageMs.handle ?? 0), 0) / 1000;
  return {
    batches: kept.length,
    seconds,
    batchesPerSecond: kept.length / seconds,
    eventsPerBatch: kept.reduce((a, j) => a + j.consumed, 0) / kept.length,
    stages,
    handleBusy: handle / seconds,
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const file = args.find((a) => !a.startsWith('--'));
  const num = (name: string) => {
    const i = args.indexOf(name);
    return i >= 0 ? Number(args[i + 1]) : undefined;
  };
  if (file === undefined) {
    process.stderr.write('usage: node bench/live/stage-summary.ts <monitor.log> [--skip 30] [--tail 15]\n');
    process.exit(2);
  }
  try {
    const skipS = num('--skip');
    const tailS = num('--tail');
    const s = summarizeStages(readFileSync(file, 'utf8'), { ...(skipS !== undefined ? { skipS } : {}), ...(tailS !== undefined ? { tailS } : {}) });
    const out = (x: string) => process.stdout.write(x + '\n');
    out(`${s.batches} batches in ${s.seconds.toFixed(0)} s (${s.batchesPerSecond.toFixed(1)}/s), ${s.eventsPerBatch.toFixed(0)} messages each; detectors busy ${(100 * s.handleBusy).toFixed(0)} % of the time`);
    out('| stage | mean ms | p99 ms |\n|---|---:|---:|');
    for (const [k, v] of Object.entries(s.stages)) out(`| ${k} | ${v.mean.toFixed(1)} | ${v.p99.toFixed(0)} |`);
  } catch (e) {
    process.stderr.write(`stage-summary: ${(e as Error).message}\n`);
    process.exit(1);
  }
}
