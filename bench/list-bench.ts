/**
 * Listing breakers in a Redis full of other keys: the breaker index (BreakerStore.list(): SSCAN of one
 * set, then HGETALL per breaker) against the baseline it replaced, measured in the same run: a SCAN of
 * the whole keyspace for `<prefix>:brk:*:state` (what list() did before, and what `vigil breakers
 * reindex` still does once).
 *
 *   node bench/list-bench.ts [--keys N] [--breakers B] [--runs R]
 *
 * Starts its own redis-server on a free port (DEBUG POPULATE fills it with N unrelated keys), so the
 * shared Redis is not touched. Prints the figures and writes them to bench/results/list.md.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { Redis } from 'ioredis';
import { BreakerStore } from '../src/breakers/breaker-store.ts';
import { connectRedis } from '../src/redis/connection.ts';
import { KeyBuilder } from '../src/redis/keys.ts';
import { freePort, removeDir, spawnRedis } from '../test/helpers/redis-server.ts';

const { values } = parseArgs({ options: { keys: { type: 'string', default: '1200000' }, breakers: { type: 'string', default: '50' }, runs: { type: 'string', default: '5' } } });
const N = Number(values.keys);
const B = Number(values.breakers);
const R = Number(values.runs);

const port = await freePort();
const dir = mkdtempSync(join(tmpdir(), 'vigil-list-bench-'));
const child = await spawnRedis(port, dir, ['--enable-debug-command', 'yes']);
const redis = connectRedis({ url: `redis://127.0.0.1:${port}`, connectionName: 'vigil-bench-list' });
try {
  const keys = new KeyBuilder('vigil');
  const store = new BreakerStore({ redis, keys });
  await (redis as Redis).call('DEBUG', 'POPULATE', String(N), 'other');
  const settings = { baseMs: 600_000, capMs: 600_000, jitter: 0, trials: 1, trialTimeoutMs: 1000 };
  for (let i = 0; i < B; i++) {
    await store.trip('user', `u_${i}`, { findingId: `f_${i}`, reason: { ruleId: 'r', kind: 'duplicate_action', policyVersion: 'p', observed: null, threshold: null, findingIds: [`f_${i}`], traceIds: [], summary: '' }, settings });
  }
  const dbsize = await redis.dbsize();

  /** The old list(): SCAN MATCH over the keyspace, then HGETALL of each match. */
  async function scanList(): Promise<number> {
    const found: string[] = [];
    let cursor = '0';
    do {
      const [next, batch] = await (redis as Redis).scan(cursor, 'MATCH', keys.breakerStatePattern(), 'COUNT', 500);
      found.push(...batch);
      cursor = next;
    } while (cursor !== '0');
    const hashes = await Promise.all(found.map((k) => redis.hgetall(k)));
    return hashes.length;
  }

  async function time(f: () => Promise<number>): Promise<{ ms: number; n: number }> {
    await f(); // warm-up
    const ms: number[] = [];
    let n = 0;
    for (let i = 0; i < R; i++) {
      const t0 = performance.now();
      n = await f();
      ms.push(performance.now() - t0);
    }
    ms.sort((a, b) => a - b);
    return { ms: ms[Math.floor(ms.length / 2)]!, n };
  }

  const baseline = await time(scanList);
  const indexed = await time(async () => (await store.list()).length);
  if (baseline.n !== B || indexed.n !== B) throw new Error(`expected ${B} breakers, SCAN found ${baseline.n}, the index ${indexed.n}`);
  const lines = [
    `# list breakers (${new Date().toISOString().slice(0, 10)}, ${cpus().length} cores, load ${loadavg()[0]!.toFixed(1)})`,
    '',
    `${B} breakers among ${dbsize.toLocaleString('en')} keys, median of ${R} runs:`,
    '',
    '| | ms | ratio |',
    '|---|---:|---:|',
    `| baseline: SCAN MATCH of the keyspace (the old list) | ${baseline.ms.toFixed(1)} | 1 |`,
    `| BreakerStore.list(): the breaker index | ${indexed.ms.toFixed(1)} | ${(indexed.ms / baseline.ms).toFixed(4)} |`,
    '',
  ];
  process.stdout.write(lines.join('\n'));
  mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
  writeFileSync(new URL('./results/list.md', import.meta.url), lines.join('\n'));
} finally {
  redis.disconnect();
  child.kill('SIGKILL');
  removeDir(dir);
}
