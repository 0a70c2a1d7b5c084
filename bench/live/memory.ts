import { createWriteStream, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import type { Admin } from 'kafkajs';
import { loadConfig } from '../../src/config/config.ts';
import { produceCommand } from '../../src/cli/produce.ts';
import { connectRedis } from '../../src/redis/connection.ts';
import { freePort, removeDir, spawnRedis } from '../../test/helpers/redis-server.ts';
import { startMonitorChild } from './monitor-child.ts';
import { waitForCommits, waitForJoin } from './group-progress.ts';
import { BUNDLED_POLICY_PATH } from '../../src/policy/bundled-policy.ts';

/**
 * Memory of `vigil run` (a child process, every detector) and of Redis as distinct users come and go.
 *
 * Its own redis-server on a free port (so used_memory is this run's alone), and a **short-window
 * policy**: the bundled vigil.policy.yaml with every detector's windowMs, timeoutMs,
 * revocationMemoryMs and quietMs set to 60 s, so the users' state can expire within the run (and
 * VIGIL_DEDUPE_TTL_SECONDS=60 for the seen-markers). Traffic: one `action.succeeded` (state-changing,
 * with an idempotency key) for each of `users` distinct users, an hour of event time in order, then
 * a few hundred events two hours later on every partition so event time passes every window. Rows:
 * the monitor idle, after every user's event is committed, and after `expiryWaitS` more seconds
 * (Redis TTLs run on the wall clock: a slice lives its window past the watermark plus the lateness and
 * a minute of slack).
 */

export interface MemoryRow {
  at: string;
  monitorRssMb: number;
  redisUsedMb: number;
  redisKeys: number;
  /** What the keys are, from a sample of random keys: family → share of the sample and median TTL left (s; -1: none). */
  keyFamilies?: { family: string; share: number; medianTtlS: number }[];
  /** Keys whose TTL left is over a day, counted over every key (SCAN): what would outlive the windows by far. */
  overADay?: number;
}

/** `<prefix>:ds:{ds:12}:<kind>:<key…>` → `ds:<kind>`, `<prefix>:seen:{seen:3}:<id>` → `seen`, and so on. */
function familyOf(key: string, prefix: string): string {
  const parts = key.slice(prefix.length + 1).split(':');
  const head = parts[0] ?? '';
  const tagAt = parts.findIndex((p) => p.startsWith('{'));
  let i = tagAt >= 0 ? tagAt + 1 : 1;
  while (i < parts.length && parts[i]!.endsWith('}') && !parts[i]!.startsWith('{')) i++; // a tag with ':' inside
  const next = parts[i];
  return next !== undefined && /^[a-z_]+$/.test(next) ? `${head}:${next}` : head;
}

async function keyFamilies(redis: ReturnType<typeof connectRedis>, prefix: string, sample = 1000): Promise<MemoryRow['keyFamilies']> {
  const keys = (await Promise.all(Array.from({ length: sample }, () => redis.randomkey()))).filter((k): k is string => k !== null);
  if (keys.length === 0) return [];
  const ttls = await Promise.all(keys.map((k) => redis.pttl(k)));
  const by = new Map<string, number[]>();
  keys.forEach((k, i) => {
    const f = familyOf(k, prefix);
    by.set(f, [...(by.get(f) ?? []), ttls[i]! < 0 ? -1 : ttls[i]! / 1000]);
  });
  return [...by]
    .sort((a, b) => b[1].length - a[1].length)
    .slice(0, 8)
    .map(([family, t]) => ({ family, share: Math.round((t.length / keys.length) * 1000) / 10, medianTtlS: Math.round([...t].sort((a, b) => a - b)[Math.floor(t.length / 2)]!) }));
}

/** Every key with a TTL left of more than a day (keys without a TTL are not counted: counters, sets, the outbox). */
async function keysOverADay(redis: ReturnType<typeof connectRedis>): Promise<number> {
  let n = 0;
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'COUNT', 5000);
    cursor = next;
    if (keys.length === 0) continue;
    const pipe = redis.pipeline();
    for (const k of keys) pipe.pttl(k);
    for (const [, ttl] of (await pipe.exec()) ?? []) if ((ttl as number) > 86_400_000) n++;
  } while (cursor !== '0');
  return n;
}

export interface MemoryResult {
  users: number;
  policy: string;
  expiryWaitS: number;
  /** Whether the wait covered the TTL slack (a --quick run waits only a few seconds: not expired). */
  expired: boolean;
  rows: MemoryRow[];
  consumeS: number;
}

export interface MemoryOptions {
  env: NodeJS.ProcessEnv;
  admin: Admin;
  partitions: number;
  users: number;
  expiryWaitS: number;
  quick: boolean;
}

const say = (s: string) => process.stdout.write(s + '\n');
const START = Date.parse('2026-11-20T00:00:00.000Z');
const TICKS_PER_PARTITION = 60;

/** The short-window policy next to the run (same rules, every detector window 60 s). */
function shortWindowPolicy(dir: string): string {
  const text = readFileSync(BUNDLED_POLICY_PATH, 'utf8').replace(/^(\s{6}(?:windowMs|timeoutMs|revocationMemoryMs|quietMs)): \d+$/gm, '$1: 60000');
  const file = join(dir, 'short-window.policy.yaml');
  writeFileSync(file, text);
  return file;
}

/** U users, one success each, an hour of event time; then ticks two hours later. Cached by size. */
async function usersFile(users: number, partitions: number): Promise<{ file: string; events: number }> {
  const ticks = TICKS_PER_PARTITION * partitions * 2;
  const file = resolve(`.cache/bench/users-v1-${users}-t${ticks}.jsonl`);
  if (existsSync(file)) return { file, events: users + ticks };
  mkdirSync(dirname(file), { recursive: true });
  const out = createWriteStream(`${file}.tmp`);
  const write = (s: string) => (out.write(s) ? Promise.resolve() : new Promise<void>((r) => out.once('drain', () => r())));
  const event = (i: number, userId: string, ts: number) =>
    JSON.stringify({
      eventId: `m-${i.toString(16).padStart(8, '0')}-0000-4000-a000-000000000000`, type: 'action.succeeded', occurredAt: new Date(ts).toISOString(),
      userId, agentId: ['travel-assistant', 'shop-helper', 'food-orderer'][i % 3], agentVersion: '1.0.0', intentId: `i-m-${i}`, sessionId: `s-m-${i}`, plan: 'paid',
      action: { name: 'cart.add', vendor: ['acme-air', 'mega-mart', 'quick-eats'][i % 3], riskTier: 'low', stateChanging: true },
      attempt: 1, payloadHash: `sha256:${i.toString(16).padStart(64, '0')}`, idempotencyKey: `idk-m-${i}`, scopes: ['cart:write'], requiredScope: 'cart:write',
      outcome: { status: 'ok', httpStatus: 200, latencyMs: 120, vendorRef: `VRM${i}` },
    }) + '\n';
  let buf = '';
  for (let i = 0; i < users; i++) {
    buf += event(i, `u_m_${i}`, START + Math.floor((i * 3_600_000) / users));
    if (buf.length > 1 << 20) {
      await write(buf);
      buf = '';
    }
  }
  // two hours later, on every partition (many keys): event time moves past every 60 s window
  for (let j = 0; j < ticks; j++) buf += event(users + j, `u_tick_${j}`, START + 3 * 3_600_000 + j * 10);
  await write(buf);
  await new Promise<void>((r, j) => out.end((e?: Error | null) => (e ? j(e) : r())));
  renameSync(`${file}.tmp`, file);
  return { file, events: users + ticks };
}

export function describeFamilies(f: MemoryRow['keyFamilies']): string {
  return (f ?? []).map((x) => `${x.family} ${x.share}% TTL ${x.medianTtlS < 0 ? 'none' : `~${x.medianTtlS} s`}`).join(', ');
}

export async function measureMemory(o: MemoryOptions): Promise<MemoryResult> {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-live-bench-mem-'));
  const port = await freePort();
  const redisServer = await spawnRedis(port, dir);
  const redisUrl = `redis://127.0.0.1:${port}`;
  const redis = connectRedis({ url: redisUrl, connectionName: 'vigil-bench-memory' });
  const policy = shortWindowPolicy(dir);
  const env: NodeJS.ProcessEnv = { ...o.env, REDIS_URL: redisUrl, VIGIL_POLICY: policy, VIGIL_DEDUPE_TTL_SECONDS: '60' };
  const config = loadConfig(env);
  const topic = config.kafka.topics.actions;
  say(`\nmemory: ${o.users.toLocaleString('en-US')} distinct users through vigil run (own redis-server :${port}, 60 s windows)`);
  const { file, events } = await usersFile(o.users, o.partitions);
  const monitor = startMonitorChild('memory', env);
  const rows: MemoryRow[] = [];
  const sample = async (at: string) => {
    const info = await redis.info('memory');
    const used = Number(/^used_memory:(\d+)/m.exec(info)?.[1] ?? 0);
    const row: MemoryRow = { at, monitorRssMb: monitor.sample().rssMb, redisUsedMb: Math.round(used / 104857.6) / 10, redisKeys: await redis.dbsize(), keyFamilies: await keyFamilies(redis, config.redis.keyPrefix), overADay: await keysOverADay(redis) };
    rows.push(row);
    say(`  ${at}: monitor RSS ${row.monitorRssMb} MB, Redis used_memory ${row.redisUsedMb} MB, ${row.redisKeys.toLocaleString('en-US')} keys, ${row.overADay} with a TTL over a day (${describeFamilies(row.keyFamilies)})`);
  };
  try {
    await waitForJoin(o.admin, config.kafka.groupId, monitor);
    await new Promise((r) => setTimeout(r, 1000));
    await sample('monitor started, idle');
    say(`  producing ${events.toLocaleString('en-US')} events (${o.users.toLocaleString('en-US')} users + ticks) while the monitor runs…`);
    const t0 = performance.now();
    const produced = produceCommand([file], { stdin: process.stdin, stdout: process.stdout, stderr: process.stdout, env } as never);
    await waitForCommits(o.admin, config.kafka.groupId, topic, events, {
      pollMs: 500,
      onProgress: (n) => say(`  memory: ${n.toLocaleString('en-US')} of ${events.toLocaleString('en-US')} committed…`),
      alive: () => (monitor.proc.exitCode !== null ? `vigil run exited ${monitor.proc.exitCode}: ${monitor.tail()}` : undefined),
    });
    if ((await produced) !== 0) throw new Error('vigil produce of the users file failed');
    const consumeS = (performance.now() - t0) / 1000;
    await new Promise((r) => setTimeout(r, 3000));
    await sample(`after ${o.users.toLocaleString('en-US')} distinct users`);
    const waitUntil = Date.now() + o.expiryWaitS * 1000;
    while (Date.now() < waitUntil) {
      await new Promise((r) => setTimeout(r, Math.min(10_000, Math.max(0, waitUntil - Date.now()))));
      say(`  waiting for the windows to expire: ${Math.max(0, Math.round((waitUntil - Date.now()) / 1000))} s left, ${(await redis.dbsize()).toLocaleString('en-US')} keys in Redis`);
    }
    await sample(`after the windows expired (+${o.expiryWaitS} s)`);
    // the slack of a slice's TTL is lateness + 60 s past its window (src/detection/detection-pass.ts)
    return { users: o.users, policy: 'vigil.policy.yaml with every detector window/timeout/memory/quiet at 60 s; dedupe TTL 60 s', expiryWaitS: o.expiryWaitS, expired: o.expiryWaitS >= 130, rows, consumeS: Math.round(consumeS * 10) / 10 };
  } finally {
    await monitor.stop();
    redis.disconnect();
    redisServer.kill('SIGKILL');
    removeDir(dir);
  }
}
