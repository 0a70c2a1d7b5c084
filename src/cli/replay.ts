import { existsSync } from 'node:fs';
import { access, open, stat } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';
import type { Readable, Writable } from 'node:stream';
import type { Detector } from '../../processors/core/detector.ts';
import type { Finding } from '../../processors/core/finding.ts';
import { ALL_DETECTORS } from '../../processors/registry.ts';
import { policySectionValidators } from '../app/policy-sections.ts';
import { parallelReplay } from '../detection/parallel-replay.ts';
import { readLines, replayStream, type ReplayStreamOptions, type ReplayStreamStats } from '../detection/replay-stream.ts';
import { defaultPolicy, loadPolicyFile, type Policy } from '../policy/load-policy.ts';
import { PolicyError } from '../policy/policy-error.ts';
import { planSummary, ResponsePlanner, writePlan } from './replay-plan.ts';
import { BUNDLED_POLICY_PATH } from '../policy/bundled-policy.ts';

const HELP = `Usage: vigil replay FILE [--policy FILE] [--format jsonl|table] [--env NAME] [--show-undecided | --settle-at-end] [--plan]

Runs every detector over agent action events read as JSON Lines from FILE ("-" for standard input),
with in-memory state and no external service, and prints one finding per line: what the live monitor
finds in the same events, ids included.

Options:
  --policy FILE    the policy to run by (default: ./vigil.policy.yaml when present, else the bundled one,
                   which runs every detector at the contract's defaults)
  --format FORMAT  jsonl (default when standard output is not a terminal) or table
  --env NAME       environment for the policy's env-matched overrides (default: none apply)
  --workers N      threads to use, or auto (the default): 2 where there are two cores and FILE is over
                   8 MB. With 2, one thread reads, parses and validates FILE while the other runs the
                   detectors: the same findings in the same order, faster where a second core is idle.
                   More than 2 use 2. Standard input always uses 1.
  --show-undecided also print the decisions still pending at the end of FILE (see below), after the
                   findings, each marked "undecided": true (jsonl) or (undecided) (table)
  --settle-at-end  settle the decisions still pending at the end as findings, as if time went on with
                   no other event (an export cut mid-window then reports, e.g., actions requested just
                   before its end as orphaned)
  --plan           print what the policy would have done instead of the findings: the breakers it
                   would trip, the compensations it would ask for, the incidents it would notify
                   (recipient groups, e-mails, alerts); nothing is sent
  -h, --help       this help

Event time ends where FILE ends: a decision that waits for an absence (an outcome, a confirmation) and
is not due by the last watermark (the newest occurredAt minus the lateness) is undecided, not a
finding: the live monitor would still be waiting for it too. They are counted in the summary.

A bad line (not JSON, or not a valid event) is reported on standard error with its line number and
skipped; so is an event whose occurredAt is out of the policy's eventTime bounds (a hostile clock; the
live monitor dead-letters it), and one still held at the end because too few later events confirmed
its time. A summary goes to standard error at the end. Exit status: 0, or 2 when FILE or the policy
cannot be read.
`;

export interface ReplayIo {
  stdout: Writable & { isTTY?: boolean };
  stderr: Writable;
  stdin: Readable;
}

export interface ReplayDeps {
  /** Detectors to run (default ALL_DETECTORS). */
  detectors?: readonly Detector<any, any>[];
  /** Policy file used without --policy; null: the detectors' defaults, no file. Default: see --help. */
  defaultPolicyPath?: string | null;
  /** Called after each chunk of input with the lines read so far (the bench samples memory with it). */
  onProgress?: (linesRead: number) => void;
}

/** `vigil replay`: returns the exit status. */
export async function replayCommand(argv: string[], io: ReplayIo, deps: ReplayDeps = {}): Promise<number> {
  let args;
  try {
    args = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        policy: { type: 'string' },
        format: { type: 'string' },
        env: { type: 'string' },
        workers: { type: 'string' },
        'show-undecided': { type: 'boolean' },
        'settle-at-end': { type: 'boolean' },
        plan: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (e) {
    io.stderr.write(`vigil replay: ${(e as Error).message}\n${HELP}`);
    return 2;
  }
  if (args.values.help) {
    io.stdout.write(HELP);
    return 0;
  }
  const file = args.positionals[0];
  if (file === undefined || args.positionals.length > 1) {
    io.stderr.write(`vigil replay: ${file === undefined ? 'FILE is required' : 'only one FILE'}\n${HELP}`);
    return 2;
  }
  const format = args.values.format ?? (io.stdout.isTTY ? 'table' : 'jsonl');
  if (format !== 'jsonl' && format !== 'table') {
    io.stderr.write(`vigil replay: --format must be jsonl or table, got "${format}"\n`);
    return 2;
  }
  const showUndecided = args.values['show-undecided'] === true;
  const settleAtEnd = args.values['settle-at-end'] === true;
  if (showUndecided && settleAtEnd) {
    io.stderr.write('vigil replay: --show-undecided and --settle-at-end do not go together (settled, they are findings)\n');
    return 2;
  }
  const detectors = deps.detectors ?? ALL_DETECTORS;
  let policy: Policy;
  try {
    // The whole file is checked as `vigil run` checks it, the breakers' section included.
    const opts = { detectors, sectionValidators: policySectionValidators(), ...(args.values.env !== undefined ? { env: args.values.env } : {}) };
    const path = args.values.policy ?? (deps.defaultPolicyPath !== undefined ? deps.defaultPolicyPath : defaultPolicyPath());
    policy = path !== null ? loadPolicyFile(path, opts) : defaultPolicy(opts);
  } catch (e) {
    if (!(e instanceof PolicyError)) throw e;
    io.stderr.write(`vigil replay: policy refused:\n${e.message}\n`);
    return 2;
  }

  const byKind = new Map<string, number>();
  const undecidedByKind = new Map<string, number>();
  const out = new OutputWriter(io.stdout, format);
  const planner = args.values.plan ? new ResponsePlanner(policy) : undefined;
  const add = (f: Finding) => {
    byKind.set(f.kind, (byKind.get(f.kind) ?? 0) + 1);
    if (planner) planner.add(f);
    else out.add(f);
  };
  const undecided = (f: Finding) => {
    undecidedByKind.set(f.kind, (undecidedByKind.get(f.kind) ?? 0) + 1);
    if (showUndecided && !planner) out.add(f, true);
  };
  // A reader that goes away (`vigil replay f | head`) ends the replay quietly.
  const onOutError = () => {
    out.closed = true;
  };
  io.stdout.on('error', onOutError);
  const onBadLine = (lineNo: number, reason: string) => void io.stderr.write(`line ${lineNo}: ${reason}\n`);
  const onOutOfBounds = (lineNo: number, reason: string, detail: string) => void io.stderr.write(`line ${lineNo}: event time out of bounds (${reason}), refused: ${detail}\n`);
  const onHeldAtEnd = (lineNo: number, detail: string) => void io.stderr.write(`line ${lineNo}: event held at the end, never run: ${detail}\n`);
  const started = performance.now();
  let stats: ReplayStreamStats;
  try {
    const workers = file === '-' ? 1 : workersOf(args.values.workers, await sizeOf(file));
    let input: Readable | undefined;
    if (workers === 1) {
      if (file === '-') {
        input = io.stdin;
      } else {
        try {
          input = (await open(file, 'r')).createReadStream({ highWaterMark: 1 << 20 });
        } catch (e) {
          throw new ReadError((e as Error).message);
        }
      }
    } else {
      await access(file).catch((e: Error) => {
        throw new ReadError(e.message);
      });
    }
    const replayOpts: ReplayStreamOptions = {
      detectors,
      rules: policy.rules,
      onFinding: add,
      onBadLine,
      onOutOfBounds,
      onHeldAtEnd,
      settleAtEnd,
      onUndecided: undecided,
      async afterChunk(lines) {
        await out.flush();
        deps.onProgress?.(lines);
        return !out.closed;
      },
    };
    stats = input !== undefined ? await replayStream(input, replayOpts) : await parallelReplay(file, replayOpts);
  } catch (e) {
    if (e instanceof UsageProblem) {
      io.stderr.write(`vigil replay: ${e.message}\n`);
      return 2;
    }
    if (e instanceof ReadError || (e as NodeJS.ErrnoException).syscall !== undefined) {
      io.stderr.write(`vigil replay: cannot read ${file}: ${(e as Error).message}\n`);
      return 2;
    }
    throw e; // a bug, not bad input: main prints the stack
  }
  await out.flush();
  const plan = planner?.finish();
  if (plan && !out.closed) await writePlan(io.stdout, plan, format);
  io.stdout.off('error', onOutError);
  const seconds = (performance.now() - started) / 1000;
  const kinds = countsOf(byKind);
  const refused = stats.outOfBounds > 0 ? `, ${stats.outOfBounds} out of bounds` : '';
  const held = stats.heldAtEnd > 0 ? `; ${stats.heldAtEnd} ${stats.heldAtEnd === 1 ? 'event' : 'events'} held at the end (never ran)` : '';
  const wm = Number.isFinite(stats.watermark) ? ` by the last watermark ${new Date(stats.watermark).toISOString()}` : '';
  const pending = settleAtEnd
    ? ''
    : `; ${stats.undecided} undecided${stats.undecided > 0 ? ` (not due${wm}: ${countsOf(undecidedByKind)}; ${showUndecided ? 'listed after the findings' : '--show-undecided lists them'}, --settle-at-end makes them findings)` : ''}`;
  io.stderr.write(
    `replayed ${stats.events} events (${stats.duplicates} duplicates, ${stats.bad} bad lines${refused}) in ${seconds.toFixed(2)} s, ` +
      `${Math.round(stats.events / Math.max(seconds, 1e-9))} events/s; policy ${policy.version}; ` +
      `${stats.findings} findings${kinds ? `: ${kinds}` : ''}${pending}${held}\n`,
  );
  if (plan) io.stderr.write(planSummary(plan) + '\n');
  return 0;
}

function countsOf(m: Map<string, number>): string {
  return [...m.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).map(([k, n]) => `${k} ${n}`).join(', ');
}

/** The input cannot be read: exit 2. */
class ReadError extends Error {}
/** A bad option value found late: exit 2. */
class UsageProblem extends Error {}

/** Below this, a second thread costs more to start than it saves. */
const AUTO_WORKERS_MIN_BYTES = 8 << 20;

/** The file's size in bytes, or 0 when it cannot be read (the open just after says why). */
async function sizeOf(file: string): Promise<number> {
  try {
    return (await stat(file)).size;
  } catch {
    return 0;
  }
}

function workersOf(v: string | undefined, fileBytes: number): number {
  if (v === undefined || v === 'auto') return fileBytes >= AUTO_WORKERS_MIN_BYTES ? Math.max(1, Math.min(2, availableParallelism())) : 1;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 16) throw new UsageProblem(`--workers must be auto or a whole number from 1 to 16, got "${v}"`);
  return n;
}

/** ./vigil.policy.yaml when present (what `vigil run` uses by default), else the bundled policy. */
function defaultPolicyPath(): string | null {
  if (existsSync('vigil.policy.yaml')) return 'vigil.policy.yaml';
  return existsSync(BUNDLED_POLICY_PATH) ? BUNDLED_POLICY_PATH : null;
}

export { readLines };

/** Writes findings as JSON Lines or a table, respecting stdout's backpressure. */
class OutputWriter {
  private readonly stream: Writable;
  private readonly format: 'jsonl' | 'table';
  private buf = '';
  private header = false;
  /** The reader went away (EPIPE): output is dropped. */
  closed = false;

  constructor(stream: Writable, format: 'jsonl' | 'table') {
    this.stream = stream;
    this.format = format;
  }

  /** A finding, or (undecided) a decision pending at the end that settling would make this finding. */
  add(f: Finding, undecided = false): void {
    if (this.format === 'jsonl') {
      this.buf += (undecided ? JSON.stringify({ undecided: true, ...f }) : JSON.stringify(f)) + '\n';
      return;
    }
    if (!this.header) {
      this.header = true;
      this.buf += row('DETECTED AT', 'KIND', 'SEVERITY', 'SCOPE', 'SUMMARY') + '\n';
    }
    const sev = (f.shadow ? `${f.severity} (shadow)` : f.severity) + (undecided ? ' (undecided)' : '');
    this.buf += row(f.detectedAt, f.kind, sev, `${f.scope.type}:${f.scope.id}`, `${f.summary} [${f.findingId}]`) + '\n';
  }

  async flush(): Promise<void> {
    if (this.buf.length === 0) return;
    const text = this.buf;
    this.buf = '';
    if (this.closed) return;
    if (!this.stream.write(text)) {
      await new Promise<void>((resolve) => {
        const done = () => {
          this.stream.off('drain', done);
          this.stream.off('close', done);
          this.stream.off('error', done);
          resolve();
        };
        this.stream.on('drain', done).on('close', done).on('error', done);
      });
    }
  }
}

function row(at: string, kind: string, sev: string, scope: string, summary: string): string {
  return `${at.padEnd(24)}  ${kind.padEnd(28)}  ${sev.padEnd(18)}  ${scope.padEnd(28)}  ${summary}`;
}
