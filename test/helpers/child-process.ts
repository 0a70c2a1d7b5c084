import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface Child {
  proc: ChildProcess;
  /** Parsed JSON lines the child printed on stdout. */
  lines: Record<string, unknown>[];
  stderr: string[];
  exited: Promise<number | null>;
}

/** Sends `signal` to a child that still runs and resolves once it exited (at once when there is none or it already exited). */
export function stopChild(c: ChildProcess | undefined, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (!c || c.exitCode !== null || c.signalCode !== null) return Promise.resolve();
  return new Promise<void>((resolve) => {
    c.once('exit', () => resolve());
    c.kill(signal);
  });
}

/** Runs a TypeScript file under the project's Node with the given env, collecting its JSON stdout lines. */
export function runTs(file: string, args: string[], env: NodeJS.ProcessEnv): Child {
  const proc = spawn(process.execPath, [file, ...args], { cwd: REPO_ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: Record<string, unknown>[] = [];
  const stderr: string[] = [];
  let buf = '';
  proc.stdout!.on('data', (d: Buffer) => {
    buf += d.toString();
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      try {
        lines.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        /* not a JSON line */
      }
    }
  });
  proc.stderr!.on('data', (d: Buffer) => stderr.push(d.toString()));
  const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
  return { proc, lines, stderr, exited };
}
