import { spawn } from 'node:child_process';
import { closeSync, openSync, readdirSync, readFileSync, readSync, statSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Process and port helpers for the local stack: detached children that outlive `up`, their stop with
 * SIGTERM then SIGKILL, free-port checks, and the tail of a log for error messages.
 */

/** Starts `command` detached (own session, so it outlives us), stdout+stderr appended to `logPath`. */
export function spawnDetached(command: string, args: readonly string[], opts: { logPath: string; env: NodeJS.ProcessEnv; cwd?: string }): number {
  const fd = openSync(opts.logPath, 'a');
  try {
    const child = spawn(command, args, {
      cwd: opts.cwd,
      env: opts.env,
      detached: true,
      stdio: ['ignore', fd, fd],
    });
    child.on('error', () => {}); // reported below (no pid) or, later, as a dead pid with the log
    if (child.pid === undefined) throw new Error(`could not start ${command} (not found or not executable)`);
    child.unref();
    return child.pid;
  } finally {
    closeSync(fd);
  }
}

/** True when a process with this pid exists (and is not a zombie we could reap). */
export function isAlive(pid: number | undefined): boolean {
  if (pid === undefined || !Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^\d+ \(.*\) Z/.test(stat);
  } catch {
    return true;
  }
}

/** The command line of a live pid ('' if unknown): to check a recorded pid still runs what we started. */
export function commandLine(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ').trim();
  } catch {
    return '';
  }
}

/** Live pids whose command line contains every one of `needles` (scans /proc; not this process). */
export function pidsWithCommandLine(needles: readonly string[]): number[] {
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return [];
  }
  const pids: number[] = [];
  for (const e of entries) {
    if (!/^\d+$/.test(e)) continue;
    const pid = Number(e);
    if (pid === process.pid) continue;
    const cmd = commandLine(pid);
    if (cmd !== '' && needles.every((n) => cmd.includes(n)) && isAlive(pid)) pids.push(pid);
  }
  return pids;
}

/**
 * Whether a process of group `pgid` is still running (zombies not counted): read from /proc, since a
 * group member can outlive its leader by a moment after a SIGKILL to the whole group.
 */
export function groupAlive(pgid: number): boolean {
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return isAlive(pgid);
  }
  for (const e of entries) {
    if (!/^\d+$/.test(e)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${e}/stat`, 'utf8');
    } catch {
      continue; // gone meanwhile
    }
    // "<pid> (<comm>) <state> <ppid> <pgrp> …": comm may hold spaces and parentheses, so split after the last ')'
    const [state, , pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(pgrp) === pgid && state !== 'Z') return true;
  }
  return false;
}

/**
 * Stops a process we started: SIGTERM to its process group (it is a session leader), then SIGKILL if it
 * is still there after `timeoutMs`. Resolves when it is gone, and after a SIGKILL when its whole group is
 * (at most 5 s). Returns true if it had to be killed.
 */
export async function stopProcess(pid: number, timeoutMs: number): Promise<boolean> {
  const signal = (sig: NodeJS.Signals): void => {
    try {
      process.kill(-pid, sig);
    } catch {
      try {
        process.kill(pid, sig);
      } catch {
        // already gone
      }
    }
  };
  if (!isAlive(pid)) return false;
  signal('SIGTERM');
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!isAlive(pid)) return false;
    await sleep(100);
  }
  signal('SIGKILL');
  for (let i = 0; i < 50 && (isAlive(pid) || groupAlive(pid)); i++) await sleep(100);
  return true;
}

/** True when nothing listens on 127.0.0.1:`port` (we can bind it). */
export function isPortFree(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen({ port, host, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/** A port the OS says is free right now. */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen({ port: 0, host }, () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** `preferred` if free, otherwise a free port not in `avoid`. */
export async function choosePort(preferred: number, avoid: ReadonlySet<number>): Promise<number> {
  if (!avoid.has(preferred) && (await isPortFree(preferred))) return preferred;
  for (;;) {
    const p = await freePort();
    if (!avoid.has(p)) return p;
  }
}

/** True when a TCP connection to host:port opens within `timeoutMs`. */
export function canConnect(host: string, port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** The last `lines` lines of a log file ('' if it cannot be read). Reads at most the last 64 KiB. */
export function tailFile(path: string, lines = 20): string {
  try {
    const size = statSync(path).size;
    const fd = openSync(path, 'r');
    try {
      const len = Math.min(size, 65536);
      const buf = Buffer.alloc(len);
      readSync(fd, buf, 0, len, size - len);
      return buf.toString('utf8').split('\n').filter((l) => l.trim() !== '').slice(-lines).join('\n');
    } finally {
      closeSync(fd);
    }
  } catch {
    return '';
  }
}

/**
 * Polls `check` every `intervalMs` until it returns true; throws `onTimeout()` after `timeoutMs`, or as
 * soon as `abort()` returns a reason (e.g. the process died).
 */
export async function pollUntil(
  check: () => Promise<boolean>,
  opts: { timeoutMs: number; intervalMs: number; abort?: () => string | undefined; onTimeout: (reason: string) => Error },
): Promise<void> {
  const deadline = Date.now() + opts.timeoutMs;
  for (;;) {
    const aborted = opts.abort?.();
    if (aborted !== undefined) throw opts.onTimeout(aborted);
    if (await check().catch(() => false)) return;
    if (Date.now() >= deadline) throw opts.onTimeout(`not ready after ${Math.round(opts.timeoutMs / 1000)} s`);
    await sleep(opts.intervalMs);
  }
}

/**
 * Runs `wait` for a process we just spawned; if it fails, stops the process before rethrowing, so a
 * failed start leaves nothing running that no state file knows about.
 */
export async function stopOnFailure<T>(pid: number, wait: () => Promise<T>): Promise<T> {
  try {
    return await wait();
  } catch (e) {
    await stopProcess(pid, 10_000);
    throw e;
  }
}
