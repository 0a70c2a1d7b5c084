import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { randomUUID } from 'node:crypto';
import { ensureStack } from '../scripts/stack/index.ts';
import { loadConfig, type Config } from '../src/config/config.ts';
import { isolatedEnv } from '../src/config/isolated-env.ts';
import { produceCommand } from '../src/cli/produce.ts';
import { startMonitor } from '../src/app/monitor.ts';
import { detectionHandlerFactory } from '../src/app/detection-wiring.ts';
import { createKafka } from '../src/kafka/kafka-client.ts';
import { quietKnownKafkajsWarnings } from '../src/kafka/quiet-known-warnings.ts';
import { silentLogger } from '../src/observability/logger.ts';
import { connectRedis } from '../src/redis/connection.ts';
import { Cluster } from 'ioredis';
import { ensureEventsFile } from './gen-events.ts';

/**
 * Consumed events/s of `vigil run` on the local stack (real Kafka, Apicurio, Redis), against a baseline
 * measured in the same run on the same topic: a bare kafkajs consumer that only counts the messages.
 *
 *   - baseline: kafkajs eachBatch, no decoding, offsets committed by kafkajs;
 *   - vigil run, empty processor: decode (Avro via the registry), validate, dedupe in Redis, hand to a
 *     counting handler, mark as seen, commit: the ingest pipeline of issue 2;
 *   - vigil run, every detector: the same with the live engine (state in Redis), findings published.
 *
 * Each run reads the whole topic from the start with its own consumer group and Redis prefix. The clock
 * runs from the first batch to the last event (the group join is left out). Writes bench/results/ingest.md.
 *
 *   node bench/ingest-bench.ts [--events 200000] [--partitions 3] [--no-detectors]
 *                              [--reuse <run id>] [--only baseline,empty,detect] [--out <file>]
 *
 * --reuse reads the topic of an earlier run (its id is printed as "run id") instead of producing a
 * new one, e.g. to profile the consumer alone with `node --cpu-prof`; groups and prefixes stay fresh.
 */

const { values } = parseArgs({
  options: {
    events: { type: 'string' },
    partitions: { type: 'string' },
    'no-detectors': { type: 'boolean' },
    out: { type: 'string' },
    reuse: { type: 'string' },
    only: { type: 'string' },
  },
});
const ONLY = values.only ? new Set(values.only.split(',')) : undefined;
const wanted = (name: string) => ONLY === undefined || ONLY.has(name);
const N = Number(values.events ?? 200_000);
const PARTITIONS = Number(values.partitions ?? 3);
const say = (s: string) => process.stdout.write(s + '\n');

interface Run {
  label: string;
  events: number;
  wallS: number;
  cpuS: number;
}

async function main(): Promise<void> {
  quietKnownKafkajsWarnings();
  const stack = await ensureStack({ quiet: true });
  const fresh = `bench-${Date.now().toString(36)}-${randomUUID().slice(0, 4)}`;
  const run = values.reuse ?? fresh;
  const env: NodeJS.ProcessEnv = {
    ...isolatedEnv(run, stack),
    VIGIL_PARTITIONS: String(PARTITIONS),
    VIGIL_LOG_LEVEL: 'error',
    VIGIL_METRICS_PORT: '0',
    VIGIL_HTTP_PORT: '0',
    // The runs' seen-markers (one per event and run) leave the machine's Redis after an hour even if
    // the bench dies before it deletes them (forgetRun).
    VIGIL_DEDUPE_TTL_SECONDS: '3600',
  };
  const configFor = (name: string): Config => loadConfig({ ...env, KAFKA_GROUP_ID: `${fresh}-${name}`, VIGIL_REDIS_PREFIX: `${fresh}-${name}` });
  say(`run id ${run}`);

  const t0 = Date.now();
  if (values.reuse === undefined) {
    const file = await ensureEventsFile({ events: N, seed: 7, hours: 24 });
    say(`producing ${N} events from ${file} to ${env.VIGIL_TOPIC_ACTIONS} (${PARTITIONS} partitions, Avro)…`);
    const code = await produceCommand([file], { stdin: process.stdin, stdout: process.stdout, stderr: process.stdout, env } as never);
    if (code !== 0) throw new Error(`produce failed (exit ${code})`);
  }
  const produced = await topicSize(configFor('admin'));
  say(`topic holds ${produced} messages (${((Date.now() - t0) / 1000).toFixed(1)} s)`);

  const runs: Run[] = [];
  if (wanted('baseline')) runs.push(await baseline(configFor('baseline'), produced));
  if (wanted('empty')) runs.push(await vigilRun('vigil run, empty processor (decode + validate + dedupe + commit)', configFor('empty'), produced, false));
  if (wanted('detect') && !values['no-detectors']) runs.push(await vigilRun('vigil run, every detector (state in Redis)', configFor('detect'), produced, true));
  report(runs, produced);
}

async function topicSize(config: Config): Promise<number> {
  const admin = createKafka(config, silentLogger, '-bench').admin();
  await admin.connect();
  try {
    return (await admin.fetchTopicOffsets(config.kafka.topics.actions)).reduce((n, p) => n + Number(p.high), 0);
  } finally {
    await admin.disconnect();
  }
}

/** A timer that starts at the first consumed message and stops at `total`. */
function clock(total: number) {
  let startWall = 0;
  let startCpu = 0;
  let seen = 0;
  let resolve!: (r: { wallS: number; cpuS: number }) => void;
  const done = new Promise<{ wallS: number; cpuS: number }>((r) => (resolve = r));
  let lastReport = 0;
  return {
    done,
    add(n: number) {
      if (seen === 0) {
        startWall = performance.now();
        const c = process.cpuUsage();
        startCpu = c.user + c.system;
      }
      seen += n;
      const now = performance.now();
      if (now - lastReport > 2000) {
        lastReport = now;
        process.stdout.write(`  ${seen} of ${total} consumed…\n`);
      }
      if (seen >= total) {
        const c = process.cpuUsage();
        resolve({ wallS: (now - startWall) / 1000, cpuS: (c.user + c.system - startCpu) / 1e6 });
      }
    },
  };
}

async function baseline(config: Config, total: number): Promise<Run> {
  const label = 'baseline: bare kafkajs consumer, count only';
  say(`\n${label}`);
  const kafka = createKafka(config, silentLogger, '-bench');
  // the same fetch settings as the ingest consumer (src/ingest/ingest-service.ts)
  const consumer = kafka.consumer({ groupId: config.kafka.groupId, allowAutoTopicCreation: false, maxBytesPerPartition: 1024 * 1024 });
  const c = clock(total);
  await consumer.connect();
  await consumer.subscribe({ topic: config.kafka.topics.actions, fromBeginning: true });
  await consumer.run({ eachBatch: async ({ batch }) => c.add(batch.messages.length) });
  const t = await c.done;
  await consumer.disconnect();
  return { label, events: total, ...t };
}

async function vigilRun(label: string, config: Config, total: number, detectors: boolean): Promise<Run> {
  say(`\n${label}`);
  const c = clock(total);
  const monitor = await startMonitor(config, {
    logger: silentLogger,
    serveMetrics: false,
    serveApi: false,
    ...(detectors ? { handler: detectionHandlerFactory(config, silentLogger) } : {}),
    onBatchCommitted: (o) => c.add(o.consumed),
  });
  const t = await c.done;
  const { batches, retries } = monitor.ingest.stats;
  say(`  ${batches} batches (${Math.round(total / Math.max(1, batches))} events each on average), ${retries} retries`);
  await monitor.stop();
  await forgetRun(config);
  return { label, events: total, ...t };
}

/**
 * Deletes the run's Redis keys (its seen-markers, detector state, breakers): a bench leaves nothing in
 * the machine's Redis, whose size slows down every test that SCANs it.
 */
async function forgetRun(config: Config): Promise<void> {
  const redis = connectRedis({ url: config.redis.url, cluster: config.redis.cluster, connectionName: 'vigil-bench-cleanup' });
  try {
    const nodes = redis instanceof Cluster ? redis.nodes('master') : [redis];
    for (const node of nodes) {
      let cursor = '0';
      do {
        const [next, keys] = await node.scan(cursor, 'MATCH', `${config.redis.keyPrefix}:*`, 'COUNT', 5000);
        if (keys.length > 0) await node.unlink(...keys);
        cursor = next;
      } while (cursor !== '0');
    }
  } finally {
    redis.disconnect();
  }
}

function report(runs: Run[], total: number): void {
  const base = runs.find((r) => r.label.startsWith('baseline'));
  const rate = (r: Run) => Math.round(r.events / r.wallS);
  const rows = runs.map((r) => `| ${r.label} | ${r.events} | ${r.wallS.toFixed(2)} | ${rate(r).toLocaleString('en-US')} | ${base ? (rate(r) / rate(base)).toFixed(2) : '–'} | ${r.cpuS.toFixed(1)} |`);
  const md = [
    '# vigil run (ingest) benchmark',
    '',
    `${new Date().toISOString()} · Node ${process.version} · ${availableParallelism()} × ${cpus()[0]?.model.trim() ?? 'cpu'} · load average ${loadavg().map((x) => x.toFixed(2)).join(' ')} · \`node bench/ingest-bench.ts --events ${N} --partitions ${PARTITIONS}\``,
    '',
    `${total.toLocaleString('en-US')} Avro events (bench/gen-events.ts, seed 7) on a ${PARTITIONS}-partition topic of the local stack: Kafka, Apicurio and Redis on this same machine, so the broker, the registry and Redis share its cores with the consumer.`,
    'Each run reads the whole topic from the start with its own consumer group and Redis prefix; the clock runs from the first batch to the last event. CPU s is this process only.',
    '',
    '| run | events | wall s | events/s | vs baseline | CPU s |',
    '|---|---:|---:|---:|---:|---:|',
    ...rows,
    '',
  ].join('\n');
  process.stdout.write('\n' + md);
  // A partial run (--reuse, --only) prints its table but leaves the committed results alone unless --out says where.
  const out = values.out ?? (values.reuse === undefined && ONLY === undefined ? 'bench/results/ingest.md' : undefined);
  if (out === undefined) return;
  mkdirSync('bench/results', { recursive: true });
  writeFileSync(out, md);
  process.stdout.write(`\nwritten to ${out}\n`);
}

main().then(
  () => process.exit(0),
  (e) => {
    process.stderr.write(`ingest bench failed: ${(e as Error).stack ?? e}\n`);
    process.exit(1);
  },
);
