import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, waitForRedis } from '../helpers/redis-server.ts';
import { stopChild } from '../helpers/child-process.ts';

/**
 * A redis-server of the chaos suite's own on a free port (never the shared one on 6379), with an
 * append-only file fsynced on every write in a data dir that outlives stop(): stopped and started
 * again, it comes back with its state, as a restarted production Redis does.
 */
export interface OwnRedis {
  readonly port: number;
  readonly url: string;
  /** Stops it (SIGTERM: it writes nothing more; the AOF already holds every write) and waits for its exit. */
  stop(): Promise<void>;
  /** Starts it again on the same port and data dir; resolves once it answers PING. */
  start(): Promise<void>;
  /** Stops it and removes its data dir. */
  dispose(): Promise<void>;
}

export async function startOwnRedis(): Promise<OwnRedis> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'vigil-chaos-redis-'));
  let child: ChildProcess | undefined;
  const start = async () => {
    const c = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'yes', '--appendfsync', 'always', '--dir', dir], { stdio: 'ignore' });
    child = c;
    const exited = new Promise<never>((_, reject) => c.once('exit', (code) => reject(new Error(`redis-server on port ${port} exited with ${code}`))));
    exited.catch(() => {});
    await Promise.race([waitForRedis(port, 20_000), exited]);
  };
  const stop = async () => {
    const c = child;
    child = undefined;
    await stopChild(c, 'SIGTERM');
  };
  await start();
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    stop,
    start,
    async dispose() {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
