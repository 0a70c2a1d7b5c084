import { readFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { Partitioners, type Admin, type Kafka, type Message } from 'kafkajs';
import type { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import { parse } from 'yaml';
import { loadConfig } from '../../src/config/config.ts';
import { schemaSubjects } from '../../src/app/monitor.ts';
import { encodeEvent } from '../../src/kafka/event-codec.ts';
import { PRODUCER_OPTIONS } from '../../src/kafka/kafka-client.ts';
import { registerSchemas, registryConnection } from '../../src/kafka/schema-registry.ts';
import { avroSchema } from '../../src/kafka/schemas.ts';
import { connectRedis } from '../../src/redis/connection.ts';
import { KeyBuilder } from '../../src/redis/keys.ts';
import { generateEvents } from '../gen-events.ts';
import { startMonitorChild } from './monitor-child.ts';
import { committed, topicEnd, waitForJoin } from './group-progress.ts';
import { tailFindings } from './findings-tail.ts';
import { BUNDLED_POLICY_PATH } from '../../src/policy/bundled-policy.ts';

/**
 * Detection latency of `vigil run` (a child process, every detector) at a steady background load.
 *
 * Background: bench/gen-events.ts traffic (every kind of anomaly at its usual rate) re-timed to the
 * wall clock and produced at `rate` events/s, in batches every 20 ms, each event sent once its
 * occurredAt is reached. Probes: one a second after a warm-up, an `action_after_consent_revoked`
 * anomaly of a user of its own (consent.revoked, then action.requested a second later; user-scoped, so
 * it trips that user's breaker).
 *
 * Every detector decides by event time: a finding is due once the watermark passes the anomaly. The
 * probe's kind is partition-local (its slice is the user's, and only the user's partition feeds it), so
 * it goes by its partition's own watermark: that partition's newest event time, minus the policy's
 * lateness, 5 s (docs/live-engine.md, partition-resident state; agent- and vendor-scoped kinds wait for
 * the lowest partition's). So two figures:
 *  - **decision** latency (the figure): from the append of the event that makes the decision
 *    due (the first event appended to the probe's partition with occurredAt ≥ anomaly + lateness) to
 *    the finding's append on the findings topic, and to the
 *    breaker's open transition on Redis pub/sub (its `at`: Redis's clock when the trip opened it);
 *  - **end-to-end** from the append of the anomaly's own last event (the request): the decision
 *    latency plus the lateness the policy waits by design.
 * Input and findings topics are created with message.timestamp.type=LogAppendTime, so both ends are
 * the broker's append times (the same machine's clock as the pub/sub receive time). The bench sets
 * each background message's partition itself with kafkajs's default partitioner on its key (userId):
 * the partition production would pick, known here to find each partition's completing event.
 */

export interface LatencyStats {
  n: number;
  p50: number;
  p99: number;
  max: number;
}

export interface LatencyResult {
  rateTarget: number;
  rateAchieved: number;
  backgroundEvents: number;
  probes: number;
  latenessMs: number;
  findingFromDecisionMs: LatencyStats;
  breakerFromDecisionMs: LatencyStats;
  findingFromAnomalyMs: LatencyStats;
  missingFindings: number;
  missingBreakers: number;
  /** Events not yet committed by the monitor when the load stopped (it fell behind if large). */
  lagAtEnd: number;
  monitorCpuS: number;
  monitorRssMb: number;
}

export interface LatencyOptions {
  env: NodeJS.ProcessEnv;
  kafka: Kafka;
  admin: Admin;
  registry: SchemaRegistry | undefined;
  redisUrl: string;
  partitions: number;
  rate: number;
  probes: number;
  warmupS: number;
  seed: number;
}

interface SentBatch {
  /** partition → newest occurredAt in the batch, and the batch's append time there. */
  parts: Map<number, { maxTs: number; appendTs: number }>;
}

interface Probe {
  userId: string;
  requestId: string;
  requestTs: number;
  partition: number;
  appendTs: number;
  findingTs?: number;
  breakerAt?: number;
}

const say = (s: string) => process.stdout.write(s + '\n');
const GEN_START = Date.parse('2026-11-20T00:00:00.000Z');

/** How much faster than its own event time the generated traffic must run to make `rate` events/s. */
function generatorSpeedup(opts: { events: number; seed: number; hours: number }, rate: number): number {
  // the steady density, past the first stretch where intents are still ramping up
  const from = Math.min(opts.events - 2, rate * 15);
  const to = Math.min(opts.events - 1, rate * 45);
  let i = 0;
  let t1 = GEN_START;
  let t2 = GEN_START;
  for (const line of generateEvents(opts)) {
    if (i === from) t1 = Date.parse((JSON.parse(line) as { occurredAt: string }).occurredAt);
    if (i === to) {
      t2 = Date.parse((JSON.parse(line) as { occurredAt: string }).occurredAt);
      break;
    }
    i++;
  }
  const realRate = (to - from) / Math.max(0.001, (t2 - t1) / 1000);
  return rate / realRate;
}

export function stats(xs: number[]): LatencyStats {
  const s = [...xs].sort((a, b) => a - b);
  const q = (p: number) => (s.length === 0 ? NaN : s[Math.min(s.length - 1, Math.ceil(p * s.length) - 1)]!);
  return { n: s.length, p50: Math.round(q(0.5)), p99: Math.round(q(0.99)), max: Math.round(s.at(-1) ?? NaN) };
}

/** A background event encoded ahead of the run; its occurredAt (24 bytes at `at`) is written at send time. */
interface Encoded {
  key: string;
  value: Buffer;
  partition: number;
  /** Its occurredAt as generated. */
  genTs: number;
  at: number;
}

/** Same length as any occurredAt this run writes (an ISO instant of a four-digit year), and found nowhere else in an event. */
const PLACEHOLDER = '9999-12-31T23:59:59.999Z';

async function preEncode(
  gen: Generator<string>,
  count: number,
  avro: Parameters<typeof encodeEvent>[1],
  partitionOf: (key: string) => number,
): Promise<Encoded[]> {
  const out: Encoded[] = [];
  const mark = Buffer.from(PLACEHOLDER, 'latin1');
  for (const line of gen) {
    if (out.length >= count) break;
    const e = JSON.parse(line) as Record<string, unknown> & { occurredAt: string; userId: string };
    const genTs = Date.parse(e.occurredAt);
    e.occurredAt = PLACEHOLDER;
    const value = await encodeEvent(e, avro);
    const at = value.indexOf(mark);
    if (at < 0 || value.indexOf(mark, at + 1) >= 0) throw new Error('the occurredAt placeholder is not found exactly once in an encoded event');
    out.push({ key: e.userId, value, partition: partitionOf(e.userId), genTs, at });
  }
  return out;
}

export async function measureLatency(o: LatencyOptions): Promise<LatencyResult> {
  const cleanups: (() => Promise<unknown> | void)[] = [];
  try {
    return await latencyRun(o, cleanups);
  } finally {
    // whatever happened: the monitor child, the readers and the producer go
    for (const c of cleanups.reverse()) await Promise.resolve().then(c).catch(() => {});
  }
}

async function latencyRun(o: LatencyOptions, cleanups: (() => Promise<unknown> | void)[]): Promise<LatencyResult> {
  const config = loadConfig(o.env);
  const topic = config.kafka.topics.actions;
  const latenessMs = Number((parse(readFileSync(BUNDLED_POLICY_PATH, 'utf8')) as { latenessMs?: number }).latenessMs ?? 5000);
  say(`\nlatency: background ${o.rate} events/s on ${topic}, ${o.probes} probes after ${o.warmupS} s of warm-up`);
  await o.admin.createTopics({
    waitForLeaders: true,
    topics: [topic, config.kafka.topics.findings].map((t) => ({ topic: t, numPartitions: o.partitions, configEntries: [{ name: 'message.timestamp.type', value: 'LogAppendTime' }] })),
  });
  const conn = registryConnection(config);
  const schemas = conn ? await registerSchemas(conn, schemaSubjects(config)) : undefined;
  const avro = schemas ? { registry: schemas.registry, schemaId: schemas.ids['agent-action']!, fields: (avroSchema('agent-action').fields as { name: string }[]).map((f) => f.name) } : undefined;

  const monitor = startMonitorChild('latency', o.env);
  cleanups.push(() => monitor.stop());
  const tail = await tailFindings(o.kafka, config.kafka.topics.findings, o.registry, `${config.kafka.groupId}-latency-reader`);
  cleanups.push(() => tail.stop());
  const sub = connectRedis({ url: o.redisUrl, connectionName: 'vigil-bench-latency' });
  cleanups.push(() => sub.disconnect());
  const probesByUser = new Map<string, Probe>();
  const probesByRequest = new Map<string, Probe>();
  sub.on('message', (_ch: string, message: string) => {
    // `at` is Redis's clock when the trip script opened the breaker (this machine's clock): the bench's
    // own event loop, busy producing the load, may read the message much later than that
    const t = JSON.parse(message) as { scope: string; scopeId: string; to: string; at: number };
    const p = probesByUser.get(t.scopeId);
    if (p && t.scope === 'user' && t.to === 'open' && p.breakerAt === undefined) p.breakerAt = Number.isFinite(t.at) ? t.at : Date.now();
  });
  await sub.subscribe(new KeyBuilder(config.redis.keyPrefix).breakerTransitionsChannel());
  tail.onFinding = (f) => {
    for (const id of f.finding.eventIds) {
      const p = probesByRequest.get(id);
      if (p && f.finding.kind === 'action_after_consent_revoked' && p.findingTs === undefined) p.findingTs = f.recordTs;
    }
  };

  // wait for the monitor to join its group
  await waitForJoin(o.admin, config.kafka.groupId, monitor);

  const meta = await o.admin.fetchTopicMetadata({ topics: [topic] });
  const partitionMetadata = meta.topics[0]!.partitions;
  const partitioner = Partitioners.DefaultPartitioner();
  const partitionOf = (key: string) => partitioner({ topic, partitionMetadata, message: { key, value: null } });
  const producer = o.kafka.producer(PRODUCER_OPTIONS);
  await producer.connect();
  cleanups.push(() => producer.disconnect());

  const probeEveryMs = 1000;
  const tailS = latenessMs / 1000 + 10;
  // the load stops at most this long after the last probe, answered or not (a monitor that falls
  // behind leaves probes unanswered: counted as missing)
  const answerS = tailS + 30;
  const totalS = o.warmupS + (o.probes * probeEveryMs) / 1000 + answerS;
  // twice what the run needs, so the background never runs out before the stop
  const genOpts = { events: Math.ceil(o.rate * totalS * 2), seed: o.seed, hours: (totalS * 2) / 3600 };
  // The generator spreads its intents over `hours`, but an intent averages fewer events than it
  // assumes: measure its real density on a first stretch (same seed, same events) and speed time up to `rate`.
  const speed = generatorSpeedup(genOpts, o.rate);
  // Encoded before the clock starts, so the load costs this process little while it is measured (on
  // two cores, generating and encoding on the fly took most of a core from the monitor): each event
  // is encoded with a placeholder occurredAt of the same length, overwritten at send time.
  const background = await preEncode(generateEvents(genOpts), Math.ceil(o.rate * totalS * 1.3), avro, partitionOf);
  say(`  ${background.length.toLocaleString('en-US')} background events encoded`);
  const T0 = Date.now();
  let next = 0;
  const batches: SentBatch[] = [];
  const probes: Probe[] = [];
  let sentEvents = 0;
  // the rate is counted once the warm-up is over (the re-timed traffic ramps up over its first seconds)
  let sentAtWarm = -1;
  let warmAt = 0;
  let inFlight = 0;
  let failure: Error | undefined;
  const c0 = monitor.sample().cpuS;

  const send = async (messages: (Message & { partition: number })[], tsOf: number[], onAck: (parts: Map<number, { maxTs: number; appendTs: number }>) => void) => {
    inFlight++;
    try {
      const res = await producer.send({ topic, acks: -1, messages });
      const parts = new Map<number, { maxTs: number; appendTs: number }>();
      messages.forEach((m, i) => {
        const cur = parts.get(m.partition);
        if (!cur || tsOf[i]! > cur.maxTs) parts.set(m.partition, { maxTs: tsOf[i]!, appendTs: 0 });
      });
      for (const r of res) {
        const p = parts.get(r.partition);
        if (p) p.appendTs = Number(r.logAppendTime);
      }
      onAck(parts);
    } catch (e) {
      failure ??= e as Error;
    } finally {
      inFlight--;
    }
  };

  let probesSent = 0;
  let nextProbeAt = T0 + o.warmupS * 1000;
  let lastReport = T0;
  let allDoneAt = Infinity;
  for (;;) {
    if (failure) throw failure;
    const now = Date.now();
    // background: every generated event whose (re-timed) occurredAt has come
    const msgs: (Message & { partition: number })[] = [];
    const tss: number[] = [];
    while (next < background.length) {
      const b = background[next]!;
      const ts = T0 + Math.round((b.genTs - GEN_START) / speed);
      if (ts > now) break;
      b.value.write(new Date(ts).toISOString(), b.at, 'latin1');
      msgs.push({ key: b.key, value: b.value, partition: b.partition });
      tss.push(ts);
      next++;
      if (msgs.length >= 2000) break;
    }
    if (next >= background.length) {
      say('  warning: the generated background ran out; stopping the load');
      break;
    }
    if (msgs.length > 0) {
      sentEvents += msgs.length;
      void send(msgs, tss, (parts) => batches.push({ parts }));
    }
    if (sentAtWarm < 0 && now >= T0 + o.warmupS * 1000) {
      sentAtWarm = sentEvents;
      warmAt = now;
    }
    // a probe: consent revoked a second ago, then an action for that user now
    if (probesSent < o.probes && now >= nextProbeAt) {
      nextProbeAt += probeEveryMs;
      const userId = `u_latency_${probesSent++}`;
      const base = { userId, agentId: 'latency-probe', agentVersion: '1.0.0', sessionId: `s-${randomUUID()}`, plan: 'paid' };
      const revoked = { eventId: randomUUID(), ...base, type: 'consent.revoked', occurredAt: new Date(now - 1000).toISOString() };
      const request = {
        eventId: randomUUID(), ...base, intentId: `i-${randomUUID()}`, type: 'action.requested', occurredAt: new Date(now).toISOString(),
        action: { name: 'cart.add', vendor: 'mega-mart', riskTier: 'low', stateChanging: true }, attempt: 1, payloadHash: `sha256:${'ab'.repeat(32)}`,
        idempotencyKey: `idk-${randomUUID()}`, scopes: ['cart:write'], requiredScope: 'cart:write',
      };
      const partition = partitionOf(userId);
      const probe: Probe = { userId, requestId: request.eventId, requestTs: now, partition, appendTs: 0 };
      probes.push(probe);
      probesByUser.set(userId, probe);
      probesByRequest.set(request.eventId, probe);
      const pm = [
        { key: userId, value: await encodeEvent(revoked, avro), partition },
        { key: userId, value: await encodeEvent(request, avro), partition },
      ];
      void send(pm, [now - 1000, now], (parts) => {
        probe.appendTs = parts.get(partition)!.appendTs;
        batches.push({ parts });
      });
    }
    if (now - lastReport > 5000) {
      lastReport = now;
      const answered = probes.filter((p) => p.findingTs !== undefined).length;
      say(`  ${Math.round((now - T0) / 1000)} s: ${sentEvents.toLocaleString('en-US')} background events sent, ${probes.length} probes, ${answered} findings back`);
    }
    if (probesSent >= o.probes && allDoneAt === Infinity && probes.every((p) => p.findingTs !== undefined && p.breakerAt !== undefined)) allDoneAt = now;
    // keep the load on until every probe is answered (and a little longer), or the tail runs out
    if (now >= allDoneAt + 1000 || (probesSent >= o.probes && now > nextProbeAt + answerS * 1000)) break;
    const wait = 20 - (Date.now() - now);
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  }
  while (inFlight > 0) await new Promise((r) => setTimeout(r, 20));
  const measuredS = (Date.now() - warmAt) / 1000;
  const lagAtEnd = (await topicEnd(o.admin, topic)) - (await committed(o.admin, config.kafka.groupId, topic));
  const end = monitor.sample();
  await producer.disconnect();
  await monitor.stop();
  await tail.stop();
  sub.disconnect();

  // when each probe's decision became due: the first append to its partition of an event past due
  const completion = (p: Probe): number | undefined => {
    const due = p.requestTs + latenessMs;
    let first = Infinity;
    for (const b of batches) {
      const x = b.parts.get(p.partition);
      if (x && x.maxTs >= due && x.appendTs < first) first = x.appendTs;
    }
    return first === Infinity ? undefined : first;
  };
  const fromDecision: number[] = [];
  const breakerFromDecision: number[] = [];
  const fromAnomaly: number[] = [];
  for (const p of probes) {
    const c = completion(p);
    if (p.findingTs !== undefined) {
      fromAnomaly.push(p.findingTs - p.appendTs);
      if (c !== undefined) fromDecision.push(p.findingTs - c);
    }
    if (p.breakerAt !== undefined && c !== undefined) breakerFromDecision.push(p.breakerAt - c);
  }
  const result: LatencyResult = {
    rateTarget: o.rate,
    rateAchieved: Math.round((sentEvents - sentAtWarm) / measuredS),
    backgroundEvents: sentEvents,
    probes: probes.length,
    latenessMs,
    findingFromDecisionMs: stats(fromDecision),
    breakerFromDecisionMs: stats(breakerFromDecision),
    findingFromAnomalyMs: stats(fromAnomaly),
    missingFindings: probes.filter((p) => p.findingTs === undefined).length,
    missingBreakers: probes.filter((p) => p.breakerAt === undefined).length,
    lagAtEnd,
    monitorCpuS: Math.round((end.cpuS - c0) * 10) / 10,
    monitorRssMb: end.rssMb,
  };
  // the slowest probes, to look up in the monitor's log (VIGIL_BENCH_LOG_DIR with VIGIL_BENCH_LOG_LEVEL=debug)
  const slowest = probes
    .map((p) => ({ p, c: completion(p) }))
    .filter(({ p, c }) => p.findingTs !== undefined && c !== undefined)
    .sort((a, b) => b.p.findingTs! - b.c! - (a.p.findingTs! - a.c!))
    .slice(0, 3);
  for (const { p, c } of slowest) say(`  slow probe: partition ${p.partition}, decision appended ${new Date(c!).toISOString()}, finding ${p.findingTs! - c!} ms later`);
  say(`  finding p50 ${result.findingFromDecisionMs.p50} ms, p99 ${result.findingFromDecisionMs.p99} ms; breaker p50 ${result.breakerFromDecisionMs.p50} ms; ${result.missingFindings} findings and ${result.missingBreakers} breakers missing; lag at end ${lagAtEnd}`);
  return result;
}
