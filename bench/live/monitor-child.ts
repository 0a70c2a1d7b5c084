import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { procSample, type ProcSample } from './proc-stats.ts';

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** A `vigil run` child process, as an operator starts it (`node src/cli/main.ts run`), with its own env. */
export interface MonitorChild {
  name: string;
  proc: ChildProcess;
  pid: number;
  /** The last lines it wrote on stderr (its log, JSON), for an error message. */
  tail(): string;
  sample(): ProcSample;
  /** SIGTERM, then waits for the exit (SIGKILL after `graceMs`). Resolves to the exit code. */
  stop(graceMs?: number): Promise<number | null>;
  exited: Promise<number | null>;
}

/**
 * Starts `vigil run` as a child. With VIGIL_BENCH_LOG_DIR set, its whole log goes to `<dir>/<name>.log` too
 * (with VIGIL_BENCH_LOG_LEVEL=debug: every batch's stage times, to see where a slow one spent its time),
 * and its stdout to `<dir>/<name>.out`; VIGIL_BENCH_NODE_ARGS adds Node options (e.g. --trace-gc).
 */
export function startMonitorChild(name: string, env: NodeJS.ProcessEnv): MonitorChild {
  const logDir = process.env.VIGIL_BENCH_LOG_DIR;
  const nodeArgs = process.env.VIGIL_BENCH_NODE_ARGS?.split(' ').filter(Boolean) ?? [];
  const proc = spawn(process.execPath, [...nodeArgs, MAIN, 'run'], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', logDir ? 'pipe' : 'ignore', 'pipe'] });
  const lines: string[] = [];
  if (logDir) {
    mkdirSync(logDir, { recursive: true }); // a directory that does not exist yet is made, not an unhandled stream error
    proc.stderr!.pipe(createWriteStream(`${logDir}/${name}.log`));
    proc.stdout!.pipe(createWriteStream(`${logDir}/${name}.out`)); // e.g. VIGIL_BENCH_NODE_ARGS=--trace-gc
  }
  proc.stderr!.on('data', (d: Buffer) => {
    lines.push(d.toString());
    if (lines.length > 40) lines.shift();
  });
  const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
  return {
    name,
    proc,
    pid: proc.pid!,
    tail: () => lines.join('').slice(-4000),
    sample: () => procSample(proc.pid!),
    exited,
    async stop(graceMs = 30_000) {
      if (proc.exitCode !== null || proc.signalCode !== null) return proc.exitCode;
      proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), graceMs);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}
