import { existsSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { StringDecoder } from 'node:string_decoder';
import { parseArgs } from 'node:util';
import type { Readable, Writable } from 'node:stream';
import type { Detector } from '../../processors/core/detector.ts';
import type { Finding } from '../../processors/core/finding.ts';
import { validateEvent } from '../../processors/core/validate-event.ts';
import { ReplayEngine } from '../../processors/engine/replay-engine.ts';
import { ALL_DETECTORS } from '../../processors/registry.ts';
import { defaultPolicy, loadPolicyFile, type Policy } from '../policy/load-policy.ts';
import { PolicyError } from '../policy/policy-error.ts';

const HELP = `Usage: vigil replay FILE [--policy FILE] [--format jsonl|table] [--env NAME]

Runs every detector over agent action events read as JSON Lines from FILE ("-" for standard input),
with in-memory state and no external service, and prints one finding per line.

Options:
  --policy FILE    the policy to run by (default: ./vigil.policy.yaml when present, else the bundled one,
                   which runs every detector at the contract's defaults)
  --format FORMAT  jsonl (default when standard output is not a terminal) or table
  --env NAME       environment for the policy's env-matched overrides (default: none apply)
  -h, --help       this help

A bad line (not JSON, or not a valid event) is reported on standard error with its line number and
skipped. A summary goes to standard error at the end. Exit status: 0, or 2 when FILE or the policy
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
      options: { policy: { type: 'string' }, format: { type: 'string' }, env: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
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
  const detectors = deps.detectors ?? ALL_DETECTORS;
  let policy: Policy;
  try {
    const opts = { detectors, ...(args.values.env !== undefined ? { env: args.values.env } : {}) };
    const path = args.values.policy ?? (deps.defaultPolicyPath !== undefined ? deps.defaultPolicyPath : defaultPolicyPath());
    policy = path !== null ? loadPolicyFile(path, opts) : defaultPolicy(opts);
  } catch (e) {
    if (!(e instanceof PolicyError)) throw e;
    io.stderr.write(`vigil replay: policy refused:\n${e.message}\n`);
    return 2;
  }

  let input: Readable;
  if (file === '-') {
    input = io.stdin;
  } else {
    try {
      const fh = await open(file, 'r');
      input = fh.createReadStream({ highWaterMark: 1 << 20 });
    } catch (e) {
      io.stderr.write(`vigil replay: cannot read ${file}: ${(e as Error).message}\n`);
      return 2;
    }
  }

  const out = new OutputWriter(io.stdout, format);
  // A reader that goes away (`vigil replay f | head`) ends the replay quietly.
  const onOutError = () => {
    out.closed = true;
  };
  io.stdout.on('error', onOutError);
  const byKind = new Map<string, number>();
  const engine = new ReplayEngine({
    detectors,
    rules: policy.rules,
    onFinding(f) {
      byKind.set(f.kind, (byKind.get(f.kind) ?? 0) + 1);
      out.add(f);
    },
  });
  const started = performance.now();
  let bad = 0;
  let lines = 0;
  try {
    for await (const chunk of readLines(input)) {
      for (const line of chunk) {
        lines++;
        if (line.length === 0 || isBlank(line)) continue;
        let value: unknown;
        try {
          value = JSON.parse(line);
        } catch (e) {
          bad++;
          io.stderr.write(`line ${lines}: not valid JSON: ${(e as Error).message}\n`);
          continue;
        }
        let event;
        try {
          event = validateEvent(value);
        } catch (e) {
          bad++;
          io.stderr.write(`line ${lines}: invalid event: ${(e as Error).message}\n`);
          continue;
        }
        engine.push(event);
      }
      await out.flush();
      if (out.closed) break;
      deps.onProgress?.(lines);
    }
  } catch (e) {
    io.stderr.write(`vigil replay: cannot read ${file}: ${(e as Error).message}\n`);
    return 2;
  }
  engine.finish();
  await out.flush();
  io.stdout.off('error', onOutError);
  const seconds = (performance.now() - started) / 1000;
  const s = engine.stats;
  const kinds = [...byKind.entries()].sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k} ${n}`).join(', ');
  io.stderr.write(
    `replayed ${s.events} events (${s.duplicates} duplicates, ${bad} bad lines) in ${seconds.toFixed(2)} s, ` +
      `${Math.round(s.events / Math.max(seconds, 1e-9))} events/s; policy ${policy.version}; ` +
      `${s.findings} findings${kinds ? `: ${kinds}` : ''}\n`,
  );
  return 0;
}

const BUNDLED_POLICY = fileURLToPath(new URL('../../vigil.policy.yaml', import.meta.url));

/** ./vigil.policy.yaml when present (what `vigil run` uses by default), else the bundled policy. */
function defaultPolicyPath(): string | null {
  if (existsSync('vigil.policy.yaml')) return 'vigil.policy.yaml';
  return existsSync(BUNDLED_POLICY) ? BUNDLED_POLICY : null;
}

function isBlank(line: string): boolean {
  return line.trim().length === 0;
}

/**
 * Streams a byte stream as arrays of lines (one array per chunk read), never holding the whole input:
 * cheaper than one async step per line. A final line without a newline is included; `\r\n` works.
 */
export async function* readLines(input: AsyncIterable<Buffer | string>): AsyncGenerator<string[]> {
  let rest = '';
  const decoder = new StringDecoder('utf8'); // a character split across two chunks stays whole
  for await (const chunk of input) {
    const text = rest + (typeof chunk === 'string' ? chunk : decoder.write(chunk));
    const lines = text.split('\n');
    rest = lines.pop()!;
    for (let i = 0; i < lines.length; i++) {
      const l = lines[i]!;
      if (l.endsWith('\r')) lines[i] = l.slice(0, -1);
    }
    yield lines;
  }
  rest += decoder.end();
  if (rest.length > 0) yield [rest.endsWith('\r') ? rest.slice(0, -1) : rest];
}

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

  add(f: Finding): void {
    if (this.format === 'jsonl') {
      this.buf += JSON.stringify(f) + '\n';
      return;
    }
    if (!this.header) {
      this.header = true;
      this.buf += row('DETECTED AT', 'KIND', 'SEVERITY', 'SCOPE', 'SUMMARY') + '\n';
    }
    const sev = f.shadow ? `${f.severity} (shadow)` : f.severity;
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
