import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, createConnection, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RedisClient } from '../../src/redis/connection.ts';

/** A throwaway redis-server for tests that stop, restart or fault Redis. */
export interface RedisServerHandle {
  port: number;
  url: string;
  /** Kills the server (SIGKILL: like a crash) and waits for it to exit. */
  stop(): Promise<void>;
  /** Starts it again on the same port (after stop()). */
  restart(): Promise<void>;
}

/** A TCP port that was free a moment ago (several at once: freePorts, so they differ). */
export async function freePort(): Promise<number> {
  const [port] = await freePorts(1);
  return port;
}

/** A tuple of N port numbers. */
type Ports<N extends number, T extends number[] = []> = T['length'] extends N ? T : Ports<N, [...T, number]>;

/**
 * `n` distinct TCP ports that were free a moment ago. All n listeners are open at once before any
 * closes, so the OS cannot hand the same port out twice (n calls of freePort() in a row can: a port
 * closed a moment ago is free again, and a broker given it twice refuses to start).
 */
export async function freePorts<N extends number>(n: N): Promise<Ports<N>> {
  const servers: Server[] = [];
  try {
    for (let i = 0; i < n; i++) {
      const srv = createServer();
      servers.push(srv);
      await new Promise<void>((resolve, reject) => {
        srv.once('error', reject);
        srv.listen(0, '127.0.0.1', () => resolve());
      });
    }
    return servers.map((srv) => {
      const addr = srv.address();
      return typeof addr === 'object' && addr ? addr.port : 0;
    }) as Ports<N>;
  } finally {
    await Promise.all(servers.map((srv) => new Promise<void>((resolve) => (srv.listening ? srv.close(() => resolve()) : resolve()))));
  }
}

/** Resolves when something answers PING with PONG on the port, rejects after timeoutMs. */
export async function waitForRedis(port: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = createConnection({ host: '127.0.0.1', port });
      let buf = '';
      s.setTimeout(500, () => { s.destroy(); resolve(false); });
      s.on('error', () => resolve(false));
      s.on('connect', () => s.write('PING\r\n'));
      s.on('data', (d) => {
        buf += d.toString();
        if (buf.includes('\r\n')) { s.destroy(); resolve(buf.startsWith('+PONG')); }
      });
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`redis-server on port ${port} did not answer PING within ${timeoutMs} ms`);
}

/** Spawns redis-server with the given extra arguments in a temporary directory; resolves when it answers. */
export async function spawnRedis(port: number, dir: string, extra: string[] = []): Promise<ChildProcess> {
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, ...extra], {
    stdio: 'ignore',
  });
  const exited = new Promise<never>((_, reject) => child.once('exit', (code) => reject(new Error(`redis-server on port ${port} exited with ${code}`))));
  exited.catch(() => {});
  await Promise.race([waitForRedis(port), exited]);
  return child;
}

async function kill(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  await new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

/** Starts a redis-server on a free port (redis-server must be on PATH). Call stop() when done. */
export async function startRedisServer(): Promise<RedisServerHandle> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'vigil-redis-'));
  let child: ChildProcess | undefined = await spawnRedis(port, dir);
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    async stop() {
      await kill(child);
      child = undefined;
      removeDir(dir);
    },
    async restart() {
      await kill(child);
      mkdirSync(dir, { recursive: true });
      child = await spawnRedis(port, dir);
    },
  };
}

/** Removes a temporary directory made by these helpers. */
export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/** Deletes every key matching `pattern` (SCAN MATCH; a test's cleanup of its own prefix). */
export async function deleteKeys(redis: RedisClient, pattern: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    if (keys.length) await redis.del(...keys);
    cursor = next;
  } while (cursor !== '0');
}
