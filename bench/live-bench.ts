import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { availableParallelism, cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { ensureStack } from '../scripts/stack/index.ts';
import { loadConfig } from '../src/config/config.ts';
import { produceCommand } from '../src/cli/produce.ts';
import { createKafka } from '../src/kafka/kafka-client.ts';
import { createRegistryClient, registryConnection } from '../src/kafka/schema-registry.ts';
import { quietKnownKafkajsWarnings } from '../src/kafka/quiet-known-warnings.ts';
import { silentLogger } from '../src/observability/logger.ts';
import { ensureEventsFile } from './gen-events.ts';
import { BenchEnv } from './live/bench-env.ts';
import { deleteTopics, forgetPrefix } from './live/cleanup.ts';
import { briefOf, matchFindings, tailFindings, waitQuiet, type FindingMatch } from './live/findings-tail.ts';
import { topicEnd } from './live/group-progress.ts';
import { bareConsumer, replayFile, stopAll, vigilRunChildren, type Timed } from './live/throughput.ts';
import { measureLatency, type LatencyResult } from './live/latency.ts';
import { measureMemory, type MemoryResult } from './live/memory.ts';
import { renderMarkdown, type LiveBenchResult, type Row } from './live/report.ts';

/**
 * The live monitor (`vigil run`, every detector) at stream speed, against `vigil replay --workers 1`
 * and a bare kafkajs consumer measured in the same run on the same events (issue 13):
 *
 *  1. throughput: N events of bench/gen-events.ts traffic (every anomaly kind) produced once, Avro via
 *     the registry, to a P-partition topic of the local stack; then (a) a bare consumer that counts,
 *     (b) `vigil run` (a child process, its own group, Redis prefix and findings topic), (c) `vigil
 *     replay --workers 1` of the same events file; events/s, CPU s, ratios; (b)'s findings against
 *     (c)'s by findingId;
 *  2. scale-out: two `vigil run` children in one group on the same topic, against (b);
 *  3. latency: at a steady background load, injected anomalies → finding on the findings topic and
 *     breaker open in Redis (bench/live/latency.ts says exactly what is timed);
 *  4. memory: RSS of the monitor and Redis used_memory after U distinct users, and after their
 *     windows expire (short-window policy, own redis-server: bench/live/memory.ts).
 *
 * Writes bench/results/live.json and live.md (or --out FILE.json and FILE.md) and prints the tables.
 *
 *   node bench/live-bench.ts [--events 1000000] [--partitions 6] [--quick] [--only throughput,scale,latency,memory]
 *                            [--rate 5000] [--probes 60] [--users 1000000] [--expiry-wait 150] [--out FILE.json]
 *
 * --quick: a few thousand events, a short latency run, a few thousand users and a short expiry wait
 * (the CI smoke, test/bench/live-bench-smoke.test.ts): it checks the harness, its figures mean little.
 */

const { values } = parseArgs({
  options: {
    events: { type: 'string' },
    partitions: { type: 'string' },
    quick: { type: 'boolean' },
    only: { type: 'string' },
    rate: { type: 'string' },
    probes: { type: 'string' },
    users: { type: 'string' },
    'expiry-wait': { type: 'string' },
    seed: { type: 'string' },
    out: { type: 'string' },
    keep: { type: 'boolean' },
  },
});
const QUICK = values.quick === true;
const num = (v: string | undefined, def: number, name: string): number => {
  const n = Number(v ?? def);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`--${name} must be a positive integer, not "${v}"`);
  return n;
};
const N = num(values.events, QUICK ? 4000 : 1_000_000, 'events');
const PARTITIONS = num(values.partitions, 6, 'partitions');
const SEED = num(values.seed, 7, 'seed');
const HOURS = Math.max(4, Math.round((60 * N) / 1_000_000));
const SECTIONS = new Set((values.only ?? 'throughput,scale,latency,memory').split(','));
for (const s of SECTIONS) if (!['throughput', 'scale', 'latency', 'memory'].includes(s)) throw new Error(`--only: unknown section "${s}" (throughput, scale, latency, memory)`);
/** VIGIL_IDLE_PARTITION_MS of the monitors: the default 30 s, 3 s for --quick (see BenchEnv). */
const IDLE_MS = QUICK ? 3000 : 30_000;
const OUT = values.out ?? 'bench/results/live.json';
const say = (s: string) => process.stdout.write(s + '\n');
const load = () => loadavg().map((x) => x.toFixed(2)).join(' ');

function row(run: string, t: Timed, note = ''): Row {
  return { run, events: t.events, wallS: round(t.wallS, 2), eventsPerS: Math.round(t.events / t.wallS), cpuS: round(t.cpuS, 1), cpuUsPerEvent: round((t.cpuS * 1e6) / t.events, 1), ...(t.rssMb !== undefined ? { rssMb: t.rssMb } : {}), ...(note ? { note } : {}) };
}
const round = (x: number, d: number) => Math.round(x * 10 ** d) / 10 ** d;

async function main(): Promise<void> {
  quietKnownKafkajsWarnings();
  const startedAt = new Date().toISOString();
  const loadStart = load();
  const stack = await ensureStack({ quiet: true });
  const env = new BenchEnv(stack, PARTITIONS, IDLE_MS);
  const adminConfig = loadConfig(env.run('admin'));
  const kafka = createKafka(adminConfig, silentLogger, '-bench');
  const admin = kafka.admin();
  await admin.connect();
  const conn = registryConnection(adminConfig);
  const registry = conn ? createRegistryClient(conn) : undefined;
  const result: LiveBenchResult = {
    meta: {
      startedAt, node: process.version, cpus: `${availableParallelism()} × ${cpus()[0]?.model.trim() ?? 'cpu'}`, loadStart, loadEnd: '',
      command: `node bench/live-bench.ts ${process.argv.slice(2).join(' ')}`.trim(), events: N, partitions: PARTITIONS, idlePartitionMs: IDLE_MS, hours: HOURS, seed: SEED, quick: QUICK, runId: env.id,
    },
  };
  say(`live bench ${env.id}: ${N.toLocaleString('en-US')} events, ${PARTITIONS} partitions, load average ${loadStart}`);
  const prefixes: string[] = [];
  /** Runs one section; a failure is recorded (and makes the exit status 1) but the others still run. */
  const section = async (name: string, run: () => Promise<void>) => {
    try {
      await run();
    } catch (e) {
      const message = (e as Error).stack ?? String(e);
      say(`\nsection ${name} FAILED: ${message}`);
      (result.errors ??= []).push({ section: name, message: message.slice(0, 4000) });
    }
  };
  try {
    if (SECTIONS.has('throughput') || SECTIONS.has('scale')) await section('throughput and scale-out', async () => {
      const file = await ensureEventsFile({ events: N, seed: SEED, hours: HOURS });
      const inputEnv = env.run('produce');
      say(`\nproducing ${N.toLocaleString('en-US')} events from ${file} to ${inputEnv.VIGIL_TOPIC_ACTIONS} (${PARTITIONS} partitions, Avro via the registry)…`);
      const t0 = performance.now();
      const code = await produceCommand([file], { stdin: process.stdin, stdout: process.stdout, stderr: process.stdout, env: inputEnv } as never);
      if (code !== 0) throw new Error(`vigil produce failed (exit ${code})`);
      const total = await topicEnd(admin, inputEnv.VIGIL_TOPIC_ACTIONS!);
      if (total !== N) throw new Error(`the topic holds ${total} messages, ${N} were produced`);
      say(`topic holds ${total.toLocaleString('en-US')} messages (${((performance.now() - t0) / 1000).toFixed(1)} s)`);

      /** vigil run with `instances` children in one group; its findings read back once they stop coming. */
      const liveRun = async (name: string, instances: number) => {
        const runEnv = env.run(name);
        prefixes.push(runEnv.VIGIL_REDIS_PREFIX!);
        say(`\n${name}: vigil run × ${instances} (every detector, group ${runEnv.KAFKA_GROUP_ID})`);
        const { timed, children } = await vigilRunChildren(name, runEnv, instances, admin, total);
        say(`  ${Math.round(total / timed.wallS).toLocaleString('en-US')} events/s; waiting for the last findings (idle partitions settle)…`);
        // the findings topic exists once the monitor started; read it from the beginning
        const tail = await tailFindings(kafka, runEnv.VIGIL_TOPIC_FINDINGS!, registry, `${runEnv.KAFKA_GROUP_ID}-findings-reader`);
        // once every partition is idle (IDLE_MS after its last event) the watermark reaches the last
        // event, and the next tick (1 s) settles what is due
        await waitQuiet(tail, 3000, IDLE_MS + 4000);
        await stopAll(children);
        await waitQuiet(tail, 1500, 0);
        await tail.stop();
        const byKind: Record<string, number> = {};
        for (const f of tail.byId.values()) byKind[f.finding.kind] = (byKind[f.finding.kind] ?? 0) + 1;
        return { timed, findings: new Map([...tail.byId].map(([id, f]) => [id, briefOf(f.finding)])), byKind };
      };

      if (SECTIONS.has('throughput')) {
        say('\n(a) bare kafkajs consumer, count only');
        const bare = await bareConsumer(kafka, inputEnv.VIGIL_TOPIC_ACTIONS!, env.run('bare').KAFKA_GROUP_ID!, total);
        say(`  ${Math.round(total / bare.wallS).toLocaleString('en-US')} events/s`);
        const live = await liveRun('run', 1);
        say(`\n(c) vigil replay --workers 1 ${file}`);
        const replay = await replayFile(file, total);
        say(`  ${Math.round(total / replay.timed.wallS).toLocaleString('en-US')} events/s; ${replay.summary}`);
        const match = matchFindings(live.findings, replay.findings);
        const rows = [row('bare kafkajs consumer, count only', bare), row('vigil run, every detector (1 instance)', live.timed), row('vigil replay --workers 1, every detector', replay.timed)];
        result.throughput = {
          rows,
          ratios: { runOverReplay: round(rows[1]!.eventsPerS / rows[2]!.eventsPerS, 3), runOverBare: round(rows[1]!.eventsPerS / rows[0]!.eventsPerS, 3), replayOverBare: round(rows[2]!.eventsPerS / rows[0]!.eventsPerS, 3) },
          findings: match,
          findingsByKind: live.byKind,
          replaySummary: replay.summary,
        };
        say(`  findings: ${describeMatch(match)}`);
        if (SECTIONS.has('scale')) {
          const two = await liveRun('scale2', 2);
          const scaleMatch = matchFindings(two.findings, replay.findings);
          const r2 = row('vigil run, 2 instances in one group', two.timed);
          result.scaleOut = { one: rows[1]!, two: r2, ratio: round(r2.eventsPerS / rows[1]!.eventsPerS, 3), findings: scaleMatch };
          say(`  two instances: ${r2.eventsPerS.toLocaleString('en-US')} events/s (× ${result.scaleOut.ratio} of one); findings: ${describeMatch(scaleMatch)}`);
        }
      } else {
        const one = await liveRun('scale1', 1);
        const two = await liveRun('scale2', 2);
        const r1 = row('vigil run, 1 instance', one.timed);
        const r2 = row('vigil run, 2 instances in one group', two.timed);
        result.scaleOut = { one: r1, two: r2, ratio: round(r2.eventsPerS / r1.eventsPerS, 3), findings: matchFindings(two.findings, one.findings) };
      }
    });
    if (SECTIONS.has('latency')) await section('latency', async () => {
      const latEnv = env.run('latency', 'latency.agent.actions');
      prefixes.push(latEnv.VIGIL_REDIS_PREFIX!);
      result.latency = await measureLatency({
        env: latEnv, kafka, admin, registry, redisUrl: stack.redisUrl, partitions: PARTITIONS,
        rate: num(values.rate, QUICK ? 1000 : 5000, 'rate'),
        probes: num(values.probes, QUICK ? 4 : 60, 'probes'),
        warmupS: QUICK ? 5 : 20,
        seed: SEED,
      });
    });
    if (SECTIONS.has('memory')) await section('memory', async () => {
      result.memory = await measureMemory({
        env: env.run('memory', 'memory.agent.actions'), admin, partitions: PARTITIONS,
        users: num(values.users, QUICK ? 3000 : 1_000_000, 'users'),
        expiryWaitS: num(values['expiry-wait'], QUICK ? 3 : 150, 'expiry-wait'),
        quick: QUICK,
      });
    });
  } finally {
    result.meta.loadEnd = load();
    for (const p of prefixes) await forgetPrefix(stack.redisUrl, p).catch(() => 0);
    if (!values.keep) await deleteTopics(admin, env.id).catch((e: Error) => say(`warning: topics of ${env.id} not deleted: ${e.message}`));
    await admin.disconnect();
  }
  const md = renderMarkdown(result);
  say('\n' + md);
  mkdirSync(dirname(OUT), { recursive: true });
  writeFileSync(OUT, JSON.stringify(result, null, 2) + '\n');
  writeFileSync(OUT.replace(/\.json$/, '') + '.md', md);
  say(`written to ${OUT} and ${OUT.replace(/\.json$/, '')}.md`);
  if (result.errors?.length) throw new Error(`sections failed: ${result.errors.map((e) => e.section).join(', ')} (see above)`);
}

function describeMatch(m: FindingMatch): string {
  return m.equal
    ? `live and replay agree: ${m.both} findings, the same ids`
    : `MISMATCH: live ${m.live}, replay ${m.replay}, both ${m.both} (only live: ${m.live - m.both}, e.g. ${m.onlyLive.slice(0, 3).join('; ')}; only replay: ${m.replay - m.both}, e.g. ${m.onlyReplay.slice(0, 3).join('; ')})`;
}

main().then(
  () => process.exit(0),
  (e) => {
    process.stderr.write(`live bench failed: ${(e as Error).stack ?? e}\n`);
    process.exit(1);
  },
);
