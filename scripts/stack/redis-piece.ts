import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import type { PieceContext } from './piece-context.ts';
import { isAlive, pollUntil, spawnDetached, stopOnFailure, tailFile } from './process-utils.ts';
import { StackPieceError } from './stack-errors.ts';
import type { PieceRecord } from './stack-state.ts';

/**
 * Redis: the machine's own Redis when it answers PING (tests isolate themselves by key prefix), else a
 * `redis-server` of ours on a free port, with no persistence.
 */

export const REDIS_PORT = 16379;

/** True when the Redis at `url` answers PING within `timeoutMs`. */
export async function redisAnswers(url: string, timeoutMs = 1500): Promise<boolean> {
  const client = new Redis(url, {
    lazyConnect: true,
    connectTimeout: timeoutMs,
    commandTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null,
  });
  client.on('error', () => {});
  try {
    await client.connect();
    return (await client.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
}

/** Starts our own redis-server (no RDB, no AOF) and waits for PING. */
export async function startRedis(ctx: PieceContext): Promise<PieceRecord> {
  const port = await ctx.claimPort(REDIS_PORT);
  const dir = join(ctx.config.runtimeDir, 'redis');
  mkdirSync(dir, { recursive: true });
  const logPath = join(ctx.logsDir, 'redis.log');
  ctx.log(`redis: no Redis answers at the default address; starting redis-server on 127.0.0.1:${port}`);
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--daemonize', 'no'];
  let pid: number;
  try {
    pid = spawnDetached('redis-server', args, { logPath, cwd: dir, env: ctx.config.childEnv });
  } catch (e) {
    throw new StackPieceError('redis', 'redis-server could not be started (is it installed? apt-get install redis-server)', { logPath, cause: e });
  }
  const url = `redis://127.0.0.1:${port}`;
  await stopOnFailure(pid, () =>
    pollUntil(() => redisAnswers(url, 500), {
      timeoutMs: Math.min(ctx.config.startTimeoutMs, 30_000),
      intervalMs: 100,
      abort: () => (isAlive(pid) ? undefined : 'redis-server exited (is it installed? apt-get install redis-server)'),
      onTimeout: (why) => new StackPieceError('redis', why, { logPath, logTail: tailFile(logPath) }),
    }),
  );
  return { piece: 'redis', managed: true, address: url, pid, ports: { redis: port }, logPath, detail: 'redis-server (no persistence)', startedAt: new Date().toISOString() };
}
