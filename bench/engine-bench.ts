import { writeFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { randomUUID } from 'node:crypto';
import type { KafkaMessage } from 'kafkajs';
import type { ValidEvent } from '../processors/core/events.ts';
import type { Finding } from '../processors/core/finding.ts';
import { ReplayEngine } from '../processors/engine/replay-engine.ts';
import { ALL_DETECTORS } from '../processors/registry.ts';
import { createDetectionHandler } from '../src/detection/detection-handler.ts';
import { defaultPolicy } from '../src/policy/load-policy.ts';
import { connectRedis } from '../src/redis/connection.ts';
import { fnv1a, KeyBuilder } from '../src/redis/keys.ts';
import { distinctEvents } from './gen-events.ts';
import { runPartitionModel } from './partition-model.ts';

/**
 * The live engine alone against the pure engine, on the same events in the same run: no Kafka, no
 * Avro, no dedupe, so what it shows is what detector state in Redis costs over `vigil replay`'s in-memory
 * run of the same detectors (the gap issue 13 is about), and where the engine's Redis traffic goes.
 *
 *   node bench/engine-bench.ts [--events 200000] [--partitions 6] [--batch 2400] [--checkpoint <batch>] [--out bench/results/engine.md]
 *
 * A third row runs bench/partition-model.ts on the same events: a model of the design the goal needs
 * (docs/partition-state-design.md), for its ceiling only, checkpointing every --checkpoint events.
 *
 * The events are bench/gen-events.ts traffic (seed 7, 24 h of event time), deduped and split by user
 * over the partitions as Kafka keys them; each partition's events are handed to one
 * `createDetectionHandler` in batches of `--batch`, round robin over the partitions (as one consumer
 * takes them), with the Kafka offsets ingest would pass. State goes to the local Redis under a fresh
 * prefix, deleted afterwards. Redis's own CPU is read from INFO before and after.
 */

const { values } = parseArgs({ options: { events: { type: 'string' }, partitions: { type: 'string' }, batch: { type: 'string' }, checkpoint: { type: 'string' }, out: { type: 'string' } } });
const N = Number(values.events ?? 200_000);
const PARTS = Number(values.partitions ?? 6);
const BATCH = Number(values.batch ?? 2400);
const CHECKPOINT = Number(values.checkpoint ?? BATCH);
const say = (s: string) => process.stdout.write(s + '\n');


function cpuS(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

async function main(): Promise<void> {
  say(`engine bench: ${N} events, ${PARTS} partitions, batches of ${BATCH}`);
  const events = distinctEvents({ events: N, seed: 7, hours: 24 });
  const policy = defaultPolicy({ detectors: ALL_DETECTORS });

  // the pure engine (what `vigil replay --workers 1` runs), stopped where the live watermark stops
  const pure: Finding[] = [];
  let c0 = cpuS();
  let t0 = performance.now();
  const engine = new ReplayEngine({ detectors: ALL_DETECTORS, rules: policy.rules, onFinding: (f) => pure.push(f) });
  for (const e of events) engine.push(e);
  const replayS = (performance.now() - t0) / 1000;
  const replayCpu = cpuS() - c0;
  say(`  replay: ${events.length} events in ${replayS.toFixed(2)} s, ${pure.length} findings`);

  // the live engine, fed as one consumer of PARTS partitions would be
  const parts: { e: ValidEvent; o: number }[][] = Array.from({ length: PARTS }, () => []);
  for (const e of events) {
    const p = parts[fnv1a(e.userId) % PARTS]!;
    p.push({ e, o: p.length });
  }
  const redis = connectRedis({ url: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', connectionName: 'vigil-engine-bench' });
  const prefix = `vigil-engine-bench-${randomUUID().slice(0, 8)}`;
  const found = new Map<string, Finding>();
  const handler = createDetectionHandler({
    redis, keys: new KeyBuilder(prefix), policy, detectors: ALL_DETECTORS, expectedPartitions: PARTS, topic: 'bench',
    sink: { publish: async (fs) => void fs.forEach((f) => found.set(f.findingId, f)) },
  });
  const redisCpu = async () => {
    const info = await redis.info('cpu');
    const num = (k: string) => Number(new RegExp(`\\b${k}:([\\d.]+)`).exec(info)?.[1] ?? 0);
    return num('used_cpu_sys') + num('used_cpu_user');
  };
  const rc0 = await redisCpu();
  c0 = cpuS();
  t0 = performance.now();
  let batches = 0;
  for (let at = 0; ; at += BATCH) {
    let any = false;
    for (let p = 0; p < PARTS; p++) {
      const slice = parts[p]!.slice(at, at + BATCH);
      if (slice.length === 0) continue;
      any = true;
      const messages = slice.map(({ o }) => ({ offset: String(o) }) as KafkaMessage);
      await handler.handle(slice.map((x) => x.e), { topic: 'bench', partition: p, lastOffset: messages.at(-1)!.offset, messages });
      batches++;
    }
    if (!any) break;
  }
  const liveS = (performance.now() - t0) / 1000;
  const liveCpu = cpuS() - c0;
  const redisS = (await redisCpu()) - rc0;
  const mem = process.memoryUsage();
  const st = handler.stats;
  await handler.close?.();

  // the model of docs/partition-state-design.md (its ceiling, not vigil run), on the same events
  const mrc0 = await redisCpu();
  const model = await runPartitionModel({ detectors: ALL_DETECTORS, parts, events, redis, prefix: `${prefix}-model`, checkpointEvents: CHECKPOINT });
  const modelRedisS = (await redisCpu()) - mrc0;
  // clean up the run's keys
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 5000);
    if (keys.length) await redis.unlink(...keys);
    cursor = next;
  } while (cursor !== '0');
  redis.disconnect();

  const pureIds = new Set(pure.map((f) => f.findingId));
  const same = [...found.keys()].filter((id) => pureIds.has(id)).length;
  const modelIds = new Set(model.findings.map((f) => f.findingId));
  const modelSame = [...modelIds].filter((id) => pureIds.has(id)).length;
  const evs = events.length;
  const rows = [
    ['pure engine (vigil replay --workers 1, in memory)', evs / replayS, replayS, replayCpu, '–', pure.length],
    ['live engine (state in Redis)', evs / liveS, liveS, liveCpu, redisS.toFixed(1), found.size],
    [`model of docs/partition-state-design.md (a runner per partition, checkpoint every ${CHECKPOINT} events; not vigil run)`, evs / model.seconds, model.seconds, model.cpuS, modelRedisS.toFixed(1), modelIds.size],
  ] as const;
  const md = [
    `# Live engine vs pure engine (bench/engine-bench.ts)`,
    '',
    `${new Date().toISOString()} · Node ${process.version} · ${cpus().length} × ${cpus()[0]?.model ?? '?'} · load average ${loadavg().map((x) => x.toFixed(2)).join(' ')} · \`node bench/engine-bench.ts --events ${N} --partitions ${PARTS} --batch ${BATCH}\``,
    '',
    `${evs} distinct events (bench/gen-events.ts, seed 7, 24 h), ${PARTS} partitions by user, batches of ${BATCH}: no Kafka, no Avro, no dedupe. Redis CPU s is the server's, from INFO.`,
    '',
    '| run | events/s | wall s | CPU s | Redis CPU s | findings |',
    '|---|---:|---:|---:|---:|---:|',
    ...rows.map(([l, r, w, c, rc, f]) => `| ${l} | ${Math.round(r).toLocaleString('en-US')} | ${w.toFixed(2)} | ${c.toFixed(1)} | ${rc} | ${f} |`),
    '',
    `live / pure: **${(rows[1][1] / rows[0][1]).toFixed(3)}**; findings of the live engine also made by the pure one: ${same} of ${found.size}.`,
    '',
    `Model (its ceiling only: no fencing, restore or crash safety; docs/partition-state-design.md): **${(rows[2][1] / rows[0][1]).toFixed(3)}** of the pure engine; ${model.checkpoints} checkpoints; slices written ${model.written}, deleted ${model.deleted}, born and dropped between checkpoints (never written) ${model.neverWritten}; owned by a partition: ${model.owned.join(', ')}; shared (in memory here, as replay runs them): ${model.shared.join(', ')}; findings also made by the pure engine: ${modelSame} of ${modelIds.size}.`,
    '',
    `Live engine: ${batches} batches; slices loaded from Redis ${st.slicesLoaded}, slices written ${st.slicesSaved}, conflicts ${st.conflicts}, events refused for their event time ${st.outOfBounds}; heap used ${(mem.heapUsed / 2 ** 20).toFixed(0)} MB, RSS ${(mem.rss / 2 ** 20).toFixed(0)} MB.`,
    '',
  ].join('\n');
  say(md);
  const out = values.out ?? 'bench/results/engine.md';
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, md);
  say(`written to ${out}`);
  process.exit(0);
}

await main();
