import { execFile, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort, spawnRedis } from './redis-server.ts';
import { stopChild } from './child-process.ts';

const run = promisify(execFile);

/** A throwaway three-master Redis Cluster (no replicas) on free ports. */
export interface RedisClusterHandle {
  ports: number[];
  /** redis://127.0.0.1:<port> of each master. */
  urls: string[];
  /** The URLs joined by commas: what config redis.url takes with redis.cluster=true. */
  url: string;
  stop(): Promise<void>;
}

async function clusterOk(port: number): Promise<boolean> {
  try {
    const { stdout } = await run('redis-cli', ['-p', String(port), 'cluster', 'info']);
    return /cluster_state:ok/.test(stdout) && /cluster_slots_assigned:16384/.test(stdout);
  } catch {
    return false;
  }
}

/**
 * Starts three `redis-server --cluster-enabled yes` and joins them with
 * `redis-cli --cluster create … --cluster-replicas 0 --cluster-yes`; resolves when every node reports
 * cluster_state:ok. Call stop() when done (kills the servers, removes their directory).
 */
export async function startRedisCluster(): Promise<RedisClusterHandle> {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-redis-cluster-'));
  const ports: number[] = [];
  while (ports.length < 3) {
    const p = await freePort();
    // The cluster bus uses port + 10000: both must be free and distinct.
    if (p + 10000 <= 65535 && !ports.includes(p)) ports.push(p);
  }
  const children: ChildProcess[] = [];
  const stop = async () => {
    await Promise.all(
      children.map((c) => stopChild(c, 'SIGKILL')),
    );
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (const p of ports) {
      children.push(
        await spawnRedis(p, dir, ['--cluster-enabled', 'yes', '--cluster-config-file', `nodes-${p}.conf`, '--cluster-node-timeout', '2000']),
      );
    }
    await run('redis-cli', ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '0', '--cluster-yes']);
    const deadline = Date.now() + 20_000;
    for (;;) {
      const states = await Promise.all(ports.map(clusterOk));
      if (states.every(Boolean)) break;
      if (Date.now() > deadline) throw new Error(`Redis Cluster on ports ${ports.join(', ')} did not reach cluster_state:ok`);
      await new Promise((r) => setTimeout(r, 100));
    }
  } catch (e) {
    await stop();
    throw e;
  }
  const urls = ports.map((p) => `redis://127.0.0.1:${p}`);
  return { ports, urls, url: urls.join(','), stop };
}
