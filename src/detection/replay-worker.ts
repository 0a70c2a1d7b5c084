import { createReadStream } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import type { Finding } from '../../processors/core/finding.ts';
import { restrictRuleSet } from '../../processors/engine/rule-set.ts';
import { ALL_DETECTORS } from '../../processors/registry.ts';
import { defaultPolicy, parsePolicy } from '../policy/load-policy.ts';
import { replayStream } from './replay-stream.ts';

/** What `vigil replay --workers` hands each worker thread. */
export interface ReplayWorkerData {
  file: string;
  /** The policy text and file name (read once by the main thread), or null for the defaults. */
  policy: { text: string; file: string } | null;
  env: string | undefined;
  /** Indexes (in ALL_DETECTORS) of the detectors this worker runs. */
  detectors: number[];
  /** Only one worker reports bad lines. */
  reportBadLines: boolean;
}

/** Messages a worker posts. */
export type ReplayWorkerMessage =
  | { t: 'findings'; findings: Finding[]; lines: number }
  | { t: 'bad'; lineNo: number; reason: string }
  | { t: 'done'; stats: { lines: number; events: number; duplicates: number; bad: number; findings: number } }
  | { t: 'error'; message: string; syscall?: string; code?: string };

const data = workerData as ReplayWorkerData;
const port = parentPort!;
try {
  const opts = { detectors: ALL_DETECTORS, ...(data.env !== undefined ? { env: data.env } : {}) };
  const policy = data.policy ? parsePolicy(data.policy.text, data.policy.file, opts) : defaultPolicy(opts);
  const rules = restrictRuleSet(policy.rules, new Set(data.detectors));
  let batch: Finding[] = [];
  const stats = await replayStream(createReadStream(data.file, { highWaterMark: 1 << 20 }), {
    detectors: ALL_DETECTORS,
    rules,
    onFinding: (f) => batch.push(f),
    onBadLine(lineNo, reason) {
      if (data.reportBadLines) port.postMessage({ t: 'bad', lineNo, reason } satisfies ReplayWorkerMessage);
    },
    afterChunk(lines) {
      port.postMessage({ t: 'findings', findings: batch, lines } satisfies ReplayWorkerMessage);
      batch = [];
      return true;
    },
  });
  port.postMessage({ t: 'findings', findings: batch, lines: stats.lines } satisfies ReplayWorkerMessage);
  port.postMessage({ t: 'done', stats } satisfies ReplayWorkerMessage);
} catch (e) {
  const { syscall, code } = e as NodeJS.ErrnoException;
  port.postMessage({ t: 'error', message: (e as Error).message, ...(syscall ? { syscall } : {}), ...(code ? { code } : {}) } satisfies ReplayWorkerMessage);
}
