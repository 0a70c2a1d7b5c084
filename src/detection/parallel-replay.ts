import { Worker } from 'node:worker_threads';
import type { Finding } from '../../processors/core/finding.ts';
import { ALL_DETECTORS } from '../../processors/registry.ts';
import type { ReplayStreamStats } from './replay-stream.ts';
import type { ReplayWorkerData, ReplayWorkerMessage } from './replay-worker.ts';

/**
 * Relative cost per event of each detector (measured with bench/replay-bench.ts), to share the
 * detectors fairly between workers. Unknown kinds count 1.
 */
const COST: Record<string, number> = {
  unmasked_pii: 2.3,
  idempotency_key_reuse: 2,
  action_after_consent_revoked: 1.7,
  orphaned_action: 1.1,
  runaway_agent: 0.9,
  vendor_failure_rate: 0.8,
  scope_violation: 0.65,
  confirmation_mismatch: 0.65,
  duplicate_action: 0.6,
  unconfirmed_action: 0.6,
  confirmation_failure_spike: 0.55,
  retry_spike: 0.3,
  missing_step_up: 0.2,
  missing_idempotency_key: 0.1,
  compensation_failed: 0.1,
};

/** Shares detector indexes between `n` workers, heaviest first onto the lightest worker. */
export function planWorkers(kinds: readonly string[], n: number): number[][] {
  const groups = Array.from({ length: n }, () => ({ cost: 0, idx: [] as number[] }));
  const order = kinds.map((k, i) => ({ i, c: COST[k] ?? 1 })).sort((a, b) => b.c - a.c);
  for (const { i, c } of order) {
    const g = groups.reduce((a, b) => (b.cost < a.cost ? b : a));
    g.idx.push(i);
    g.cost += c;
  }
  return groups.map((g) => g.idx.sort((a, b) => a - b)).filter((g) => g.length > 0);
}

export interface ParallelReplayOptions {
  file: string;
  policy: ReplayWorkerData['policy'];
  env: string | undefined;
  workers: number;
  onFindings(findings: readonly Finding[]): Promise<void> | void;
  onBadLine(lineNo: number, reason: string): void;
  /** Lines read by the slowest worker so far. */
  onProgress?(lines: number): void;
}

/**
 * Replays a file with ALL_DETECTORS shared between worker threads: each reads and parses the file and
 * runs its share of the detectors (the same dedupe and watermark in each, so the same findings as one
 * engine, in another order). Worth it when the detectors cost more than parsing and cores are free.
 */
export async function parallelReplay(opts: ParallelReplayOptions): Promise<ReplayStreamStats> {
  const groups = planWorkers(ALL_DETECTORS.map((d) => d.kind), opts.workers);
  const lines = groups.map(() => 0);
  let findings = 0;
  let first: ReplayStreamStats | undefined;
  let chain = Promise.resolve();
  await Promise.all(
    groups.map(
      (detectors, w) =>
        new Promise<void>((resolve, reject) => {
          const data: ReplayWorkerData = { file: opts.file, policy: opts.policy, env: opts.env, detectors, reportBadLines: w === 0 };
          const worker = new Worker(new URL('./replay-worker.ts', import.meta.url), { workerData: data });
          worker.on('message', (m: ReplayWorkerMessage) => {
            if (m.t === 'findings') {
              findings += m.findings.length;
              lines[w] = m.lines;
              if (m.findings.length > 0) chain = chain.then(() => opts.onFindings(m.findings));
              opts.onProgress?.(Math.min(...lines));
            } else if (m.t === 'bad') {
              opts.onBadLine(m.lineNo, m.reason);
            } else if (m.t === 'done') {
              if (w === 0) first = m.stats;
            } else {
              // keep errno details: the caller tells an unreadable file from a bug by them
              reject(Object.assign(new Error(m.message), m.syscall ? { syscall: m.syscall, code: m.code } : {}));
            }
          });
          worker.once('error', reject);
          worker.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`replay worker exited with ${code}`))));
        }),
    ),
  );
  await chain;
  if (!first) throw new Error('replay worker 0 ended without its stats');
  return { ...first, findings };
}
