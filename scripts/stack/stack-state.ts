import { mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { isAlive } from './process-utils.ts';
import type { PieceName } from './stack-errors.ts';

/** What `up` recorded about one piece, in <runtimeDir>/state.json. */
export interface PieceRecord {
  readonly piece: PieceName;
  /** True when we started it (and `down` stops it); false when it is infrastructure we only checked. */
  readonly managed: boolean;
  /** host:port or URL that clients use. */
  readonly address: string;
  readonly pid?: number;
  /** Every port the piece listens on, by role. */
  readonly ports?: Readonly<Record<string, number>>;
  readonly logPath?: string;
  /** e.g. "Kafka 4.4.0 on Java 17". */
  readonly detail?: string;
  readonly startedAt?: string;
  /** A file the process writes as it exits (Kafka's CDS archive), to move into place once it stopped. */
  readonly pendingArchive?: string;
}

/** The whole runtime state: one record per piece that `up` handled. */
export type StackState = Partial<Record<PieceName, PieceRecord>>;

/** Reads state.json ({} when missing or unreadable). */
export function readState(runtimeDir: string): StackState {
  try {
    return JSON.parse(readFileSync(join(runtimeDir, 'state.json'), 'utf8')) as StackState;
  } catch {
    return {};
  }
}

/** Writes a JSON file atomically (tmp + rename) so a reader never sees half of it. */
export function writeJsonAtomic(path: string, value: unknown): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(value, null, 2) + '\n');
  renameSync(tmp, path);
}

/** Writes state.json. */
export function writeState(runtimeDir: string, state: StackState): void {
  mkdirSync(runtimeDir, { recursive: true });
  writeJsonAtomic(join(runtimeDir, 'state.json'), state);
}

/**
 * Runs `fn` holding the stack lock (<runtimeDir>.lock, beside the runtime dir so `down` can remove the
 * dir while holding it). Several engineers' test runs share one tree: without it two `up`s would race for
 * the same ports. A lock whose owner pid is dead is taken over.
 */
export function withStackLock<T>(runtimeDir: string, timeoutMs: number, fn: () => Promise<T>): Promise<T> {
  // In one process, calls queue here (the lock file holds only a pid, which cannot tell them apart).
  const lockPath = `${runtimeDir}.lock`;
  const previous = inProcess.get(lockPath) ?? Promise.resolve();
  const run = previous.then(() => withFileLock(lockPath, timeoutMs, fn));
  const tail = run.catch(() => undefined);
  inProcess.set(lockPath, tail);
  void tail.then(() => {
    if (inProcess.get(lockPath) === tail) inProcess.delete(lockPath);
  });
  return run;
}

const inProcess = new Map<string, Promise<unknown>>();

async function withFileLock<T>(lockPath: string, timeoutMs: number, fn: () => Promise<T>): Promise<T> {
  const runtimeDir = lockPath.slice(0, -'.lock'.length);
  mkdirSync(join(runtimeDir, '..'), { recursive: true });
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      writeFileSync(lockPath, String(process.pid), { flag: 'wx' });
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      let owner = NaN;
      let ageMs = 0;
      try {
        owner = Number(readFileSync(lockPath, 'utf8').trim() || 'NaN');
        ageMs = Date.now() - statSync(lockPath).mtimeMs;
      } catch {
        continue; // removed between our tries
      }
      // An empty file is a lock being written right now, unless it has been empty for a while.
      const stale = Number.isNaN(owner) ? ageMs > 5000 : !isAlive(owner) || owner === process.pid;
      if (stale) {
        rmSync(lockPath, { force: true });
        continue;
      }
      if (Date.now() > deadline) {
        throw new Error(`stack: another process (pid ${String(owner)}) holds ${lockPath} for too long; if it is stuck, remove the file`);
      }
      await sleep(250);
    }
  }
  try {
    return await fn();
  } finally {
    rmSync(lockPath, { force: true });
  }
}
