import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import type { Finding } from '../../processors/core/finding.ts';
import { loadConfig } from '../../src/config/config.ts';
import { isolatedEnv } from '../../src/config/isolated-env.ts';
import { stackEndpoints } from '../helpers/stack-env.ts';
import { randomName, waitFor } from '../helpers/wait.ts';
import { renderFigures, type ChaosFigures } from './figures.ts';
import { metricValue, startMonitorProcess, type MonitorProcess } from './monitor-process.ts';
import { decoders, expectedOutcome, judge, readWholeTopic } from './oracle.ts';
import { startOwnKafka, type OwnKafka } from './own-kafka.ts';
import { startOwnRedis, type OwnRedis } from './own-redis.ts';
import { startOwnSmtp, type OwnSmtp } from './own-smtp.ts';
import { startTcpProxy, type TcpProxy } from './tcp-proxy.ts';
import { inputLag, makeTraffic, TrafficPump } from './traffic.ts';

/**
 * The chaos suite: generated agent traffic (every anomaly kind) flows into `vigil run`, a real child
 * process on a Redis, a Kafka broker and an SMTP server of the suite's own, reached through TCP proxies
 * of its own, while the suite SIGKILLs the monitor at random moments, stops Redis, the broker and SMTP,
 * adds latency and cuts connections, and makes a second instance join the group and leave. Then the
 * oracle (oracle.ts) checks every expected finding, compensation command and e-mail was made exactly
 * once. VIGIL_CHAOS=long (npm run test:chaos -- --long) is the full run; the default is CI's short one.
 * VIGIL_CHAOS_LOG_DIR=<dir> keeps every monitor's whole log there (<name>.log) for a post-mortem.
 */
const LONG = process.env.VIGIL_CHAOS === 'long';
const SEED = Number(process.env.VIGIL_CHAOS_SEED ?? 2026);
const P = LONG
  ? { kills: 25, redisDownMs: 30_000, kafkaDownMs: 15_000, smtpDownMs: 20_000, latencyMs: 250, latencyForMs: 10_000, cuts: 5, rebalanceMs: 20_000, rate: 40, durationMs: 900_000, rounds: 3, wallMs: 300_000, killWindowMs: 6000 }
  : { kills: 3, redisDownMs: 8_000, kafkaDownMs: 0, smtpDownMs: 6_000, latencyMs: 150, latencyForMs: 3_000, cuts: 2, rebalanceMs: 5_000, rate: 15, durationMs: 480_000, rounds: 1, wallMs: 45_000, killWindowMs: 2500 };

/** Deterministic random moments (the same seed kills at the same offsets). */
function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 2 ** 32;
  };
}

describe(`chaos suite (${LONG ? 'long' : 'short'})`, () => {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-chaos-'));
  const cleanup: (() => Promise<unknown>)[] = [];
  afterAll(async () => {
    for (const c of cleanup.reverse()) await c().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }, 120_000);

  it('loses nothing and duplicates nothing under SIGKILLs, outages, a slow and cut network, and a rebalance', async () => {
    const began = Date.now();
    const random = rng(SEED);
    const faults = { sigkill: 0, redis_down: 0, kafka_down: 0, smtp_down: 0, proxy_latency: 0, proxy_cut: 0, rebalance: 0 };
    const outages: ChaosFigures['outages'] = [];
    const phases: string[] = [];
    const phase = (name: string) => phases.push(`${name} ${Math.round((Date.now() - began) / 1000)} s`);

    // The services of its own, and the proxies the monitor reaches them through.
    const [redis, kafka, smtp] = await Promise.all([startOwnRedis(), startOwnKafka(join(dir, 'kafka')), startOwnSmtp()]) as [OwnRedis, OwnKafka, OwnSmtp];
    cleanup.push(() => redis.dispose(), () => kafka.dispose(), () => smtp.dispose());
    const redisProxy: TcpProxy = await startTcpProxy(redis.port);
    const kafkaProxy: TcpProxy = await startTcpProxy(kafka.proxiedPort, { port: kafka.proxyPort });
    cleanup.push(() => redisProxy.close(), () => kafkaProxy.close());

    const policy = join(dir, 'policy.yaml');
    // No re-send (attempt 2) muddles the command count; e-mails go 0.5 s after an incident opens.
    writeFileSync(policy, 'compensations:\n  timeoutMs: 3600000\nnotifications:\n  groupWaitMs: 500\n  resolveQuietMs: 86400000\n');
    const id = randomName('chaos');
    const s = stackEndpoints();
    const base = {
      ...isolatedEnv(id, { kafkaBrokers: kafka.direct, schemaRegistryUrl: s.schemaRegistryUrl, redisUrl: redis.url, smtpUrl: smtp.url }),
      VIGIL_PARTITIONS: '3', VIGIL_POLICY: policy, VIGIL_LOG_LEVEL: 'info', VIGIL_ONCALL_TO: 'oncall@vigil.test',
      KAFKA_SESSION_TIMEOUT_MS: '6000', VIGIL_COMPENSATION_LEASE_MS: '1500', VIGIL_NOTIFY_POLL_MS: '100', VIGIL_SMTP_TIMEOUT_MS: '2000',
      VIGIL_LAG_INTERVAL_MS: '2000', VIGIL_DEDUPE_TTL_SECONDS: '3600',
      // Partitions never turn idle during an outage: the live watermark stays the lowest of the three, as replay's is.
      VIGIL_IDLE_PARTITION_MS: '600000',
    };
    const suiteConfig = loadConfig(base);
    const monitorEnv = { ...base, KAFKA_BROKERS: `127.0.0.1:${kafka.proxyPort}`, REDIS_URL: `redis://127.0.0.1:${redisProxy.port}` };

    // The traffic and what it must produce.
    const traffic = makeTraffic({ seed: SEED, rate: P.rate, durationMs: P.durationMs, rounds: P.rounds }, 3, id);
    const expected = expectedOutcome([...traffic.events, ...traffic.closing.map((c) => c.event)], policy, suiteConfig);
    expect(new Set(expected.findings.map((f) => f.kind)).size, 'the traffic raises every anomaly kind').toBe(15);

    const lives: MonitorProcess[] = [];
    const spawnA = async (): Promise<MonitorProcess> => {
      const m = await startMonitorProcess(`A${lives.length + 1}`, monitorEnv, process.env.VIGIL_CHAOS_LOG_DIR);
      lives.push(m);
      cleanup.push(() => m.kill());
      return m;
    };
    const waitReady = (m: MonitorProcess, timeoutMs = 90_000) =>
      waitFor(() => m.ready(), { timeoutMs, intervalMs: 100, description: `monitor ${m.name} serving` }).catch((e) => {
        throw new Error(`${(e as Error).message}\n${m.tail()}`);
      });
    const lastBatch = async (m: MonitorProcess) => metricValue((await m.metrics()) ?? '', 'vigil_last_batch_timestamp_seconds') ?? 0;
    /**
     * Seconds until the monitor commits a batch again after `since` (epoch ms), the same process; or,
     * when the traffic has all been sent, until the group has committed the whole input topic.
     */
    const resumed = async (m: MonitorProcess, since: number, what: string) => {
      await waitFor(async () => (await lastBatch(m)) * 1000 > since || (pump.finished && (await inputLag(suiteConfig)) === 0), { timeoutMs: 120_000, intervalMs: 250, description: `monitor ${m.name} consuming again after ${what}` }).catch((e) => {
        throw new Error(`${(e as Error).message}\n${m.tail()}`);
      });
      expect(m.proc.exitCode, `monitor ${m.name} still running after ${what}`).toBe(null);
      return Math.round((Date.now() - since) / 100) / 10;
    };
    /** Polls /readyz and /metrics while a dependency is down; returns what they said. */
    const watchWhileDown = async (m: MonitorProcess, ms: number) => {
      const codes = new Map<string, number>();
      const sequence: string[] = [];
      let retriesBefore: number | undefined;
      let retriesAfter: number | undefined;
      // per dependency: samples of vigil_dependency_up, and how many said 0 (the last sample alone can
      // straddle the dependency's return: a busy monitor answers /metrics after its probe saw it back)
      const depUp = new Map<string, { samples: number; down: number }>();
      const end = Date.now() + ms;
      while (Date.now() < end) {
        const r = await m.readyz();
        const key = r ? String(r.status) : 'no answer';
        codes.set(key, (codes.get(key) ?? 0) + 1);
        sequence.push(key);
        const text = await m.metrics();
        if (text) {
          const retries = metricValue(text, 'vigil_batch_retries_total') ?? 0;
          retriesBefore ??= retries;
          retriesAfter = retries;
          for (const l of text.split('\n')) {
            const m = /^vigil_dependency_up\{dependency="([^"]+)"\} (\d+)/.exec(l);
            if (!m) continue;
            const d = depUp.get(m[1]!) ?? { samples: 0, down: 0 };
            d.samples++;
            if (m[2] === '0') d.down++;
            depUp.set(m[1]!, d);
          }
        }
        await sleep(Math.min(1000, Math.max(0, end - Date.now())));
      }
      const first503 = sequence.indexOf('503');
      return {
        codes,
        /** Answers other than 503 once /readyz had said 503 (the dependency still down): there must be none. */
        readyAgain: first503 < 0 ? [] : sequence.slice(first503).filter((k) => k !== '503'),
        readyz: [...codes].map(([k, n]) => `${k}×${n}`).join(' '),
        /** Samples of /metrics in which vigil_dependency_up said this dependency was down. */
        downSamples: (d: string) => depUp.get(d)?.down ?? 0,
        metrics: `${depUp.size === 0 ? 'no vigil_dependency_up series' : `vigil_dependency_up 0 in ${[...depUp].map(([d, c]) => `${d} ${c.down}/${c.samples}`).join(', ')} samples`}; vigil_batch_retries_total +${(retriesAfter ?? 0) - (retriesBefore ?? 0)}`,
      };
    };

    phase('services up');
    // Start: monitor A, then the traffic, spread over the whole run.
    let a = await spawnA();
    await waitReady(a);
    const pump = new TrafficPump(suiteConfig);
    cleanup.push(() => pump.close());
    await pump.open();
    pump.start(traffic.events, P.wallMs);

    phase('monitor ready');
    // 1. SIGKILLs at random moments of a life (while starting up, too), each followed by a new life.
    for (let k = 0; k < P.kills; k++) {
      await sleep(300 + random() * P.killWindowMs);
      await a.kill();
      faults.sigkill++;
      a = await spawnA();
      if (random() < 0.5) await waitReady(a);
    }
    await waitReady(a);
    await resumed(a, Date.now(), 'the last SIGKILL');

    phase('sigkills done');
    // 2. SMTP down while findings keep coming: their e-mails wait in the outbox.
    await smtp.stop();
    faults.smtp_down++;
    await sleep(P.smtpDownMs);
    await smtp.start();

    phase('smtp back');
    // 3. Redis down: /readyz must say so; the monitor retries and resumes on its own when Redis is back.
    await redis.stop();
    faults.redis_down++;
    const redisDownAt = Date.now();
    const redisWatch = await watchWhileDown(a, P.redisDownMs);
    await redis.start();
    const redisBack = Date.now();
    outages.push({ name: 'redis', downSeconds: Math.round((redisBack - redisDownAt) / 1000), readyzWhileDown: redisWatch.readyz, metricsWhileDown: redisWatch.metrics, resumedInSeconds: await resumed(a, redisBack, 'Redis returned'), restartedByTest: false });
    expect(redisWatch.codes.get('503') ?? 0, `/readyz answered 503 while Redis was down (${redisWatch.readyz})`).toBeGreaterThan(0);
    expect(redisWatch.downSamples('redis'), `vigil_dependency_up said redis was down (${redisWatch.metrics})`).toBeGreaterThan(0);
    expect(redisWatch.codes.get('200') ?? 0, `/readyz never said ready while Redis was down (${redisWatch.readyz})`).toBe(0);
    expect(redisWatch.readyAgain, `/readyz answered only 503 once it said 503, Redis still down (${redisWatch.readyz})`).toEqual([]);

    phase('redis back');
    // 4. The Kafka broker stopped and started again (long run): the monitor resumes on its own.
    if (P.kafkaDownMs > 0) {
      await kafka.stop();
      faults.kafka_down++;
      const kafkaDownAt = Date.now();
      const kafkaWatch = await watchWhileDown(a, P.kafkaDownMs);
      await kafka.start();
      const kafkaBack = Date.now();
      outages.push({ name: 'kafka', downSeconds: Math.round((kafkaBack - kafkaDownAt) / 1000), readyzWhileDown: kafkaWatch.readyz, metricsWhileDown: kafkaWatch.metrics, resumedInSeconds: await resumed(a, kafkaBack, 'the broker returned'), restartedByTest: false });
      // The broker's absence is seen by the dependency probe (a cluster description, every few seconds),
      // not at once as Redis's: /readyz may still say ready for its first probe, never after it said 503.
      expect(kafkaWatch.codes.get('503') ?? 0, `/readyz answered 503 while the broker was down (${kafkaWatch.readyz})`).toBeGreaterThan(0);
      expect(kafkaWatch.downSamples('kafka'), `vigil_dependency_up said kafka was down (${kafkaWatch.metrics})`).toBeGreaterThan(0);
      expect(kafkaWatch.readyAgain, `/readyz said something else than 503 after it said 503, the broker still down (${kafkaWatch.readyz})`).toEqual([]);
    }

    phase('kafka back');
    // 5. A slow network, then connections cut (Redis and Kafka, through the proxies).
    redisProxy.setLatency(P.latencyMs);
    kafkaProxy.setLatency(P.latencyMs);
    faults.proxy_latency++;
    await sleep(P.latencyForMs);
    redisProxy.setLatency(0);
    kafkaProxy.setLatency(0);
    for (let c = 0; c < P.cuts; c++) {
      redisProxy.cut();
      kafkaProxy.cut();
      faults.proxy_cut++;
      await sleep(1000 + random() * 2000);
    }
    await resumed(a, Date.now(), 'the cut connections');

    phase('proxy faults done');
    // 6. A rebalance: instance B joins the group, works a while, then leaves (SIGTERM).
    const b = await startMonitorProcess('B', monitorEnv, process.env.VIGIL_CHAOS_LOG_DIR);
    cleanup.push(() => b.kill());
    faults.rebalance++;
    await waitReady(b);
    await sleep(P.rebalanceMs);
    const bConsumed = metricValue((await b.metrics()) ?? '', 'vigil_events_consumed_total') ?? 0;
    expect(await b.stop(), `instance B's exit on SIGTERM\n${b.tail()}`).toBe(0);

    phase('rebalance done');
    // The rest of the traffic, then the closing events that settle every due decision.
    await pump.done();
    await pump.sendClosing(traffic.closing);

    phase('traffic sent');
    // Read what came out once the monitor is done (its group committed the whole input): findings, commands, e-mails.
    await waitFor(async () => (await inputLag(suiteConfig)) === 0, { timeoutMs: 300_000, intervalMs: 500, description: 'the monitor committing the whole input' }).catch((e) => {
      throw new Error(`${(e as Error).message}\ntimeline: ${phases.join(', ')}\nmonitor ${a.name}: ${a.tail()}`);
    });
    phase('input consumed');
    const dec = decoders(suiteConfig);
    const findings: Finding[] = await readWholeTopic(suiteConfig, suiteConfig.kafka.topics.findings, dec.finding, expected.findings.length, { quietMs: 3000, timeoutMs: LONG ? 90_000 : 45_000 }).catch(async (e) => {
      throw new Error(`${(e as Error).message}\ntimeline: ${phases.join(', ')}\nmonitor ${a.name}: ${a.tail()}`);
    });
    phase('findings read');
    const commands = await readWholeTopic(suiteConfig, suiteConfig.kafka.topics.compensations, dec.command, expected.commands.size, { quietMs: 3000, timeoutMs: LONG ? 90_000 : 45_000 });
    phase('commands read');
    await waitFor(async () => (await smtp.mails()).length >= expected.incidents.size, { timeoutMs: 60_000, intervalMs: 500, description: `${expected.incidents.size} e-mails` }).catch(() => undefined);
    await sleep(2000);
    const mails = await smtp.mails();
    const text = (await a.metrics()) ?? '';
    phase('mails read');
    const exitA = await a.stop();

    phase('outputs read');
    const verdict = judge(expected, findings, commands, mails);
    const figures: ChaosFigures = {
      mode: LONG ? 'long' : 'short',
      seed: SEED,
      wallSeconds: Math.round((Date.now() - began) / 1000),
      faults,
      events: { generated: traffic.events.length, closing: traffic.closing.length, scenariosInjected: traffic.injected, ...pump.stats },
      monitor: { lives: lives.length, consumed: metricValue(text, 'vigil_events_consumed_total') ?? 0, duplicatesSkipped: metricValue(text, 'vigil_events_duplicate_total') ?? 0 },
      outages,
      verdict,
    };
    // `vigil run` exits by itself after its graceful stop, or says what a library left open (exit-when-done.ts)
    const smtpRefusals = [...lives, b].reduce((n, m) => n + m.log.filter((l) => String(l.msg).startsWith('notification not delivered')).length, 0);
    const leftOpen = a.log.find((l) => String(l.msg).startsWith('done, but something still keeps the process alive'));
    const summary = renderFigures(figures) + `\n  e-mail sends that failed (SMTP down) and waited in the outbox: ${smtpRefusals} log lines` + `\n  monitor ${a.name} on SIGTERM: exit ${exitA}${leftOpen ? `, after the grace time: still open ${JSON.stringify(leftOpen.openResources)}` : ', by itself'}` + `\n  instance B consumed ${bConsumed} messages before it left; proxy connections cut: redis ${redisProxy.stats.connectionsCut}, kafka ${kafkaProxy.stats.connectionsCut}\n  timeline: ${phases.join(', ')}`;
    // eslint-disable-next-line no-console
    console.log(summary);
    if (process.env.VIGIL_CHAOS_REPORT) writeFileSync(process.env.VIGIL_CHAOS_REPORT, JSON.stringify({ ...figures, summary }) + '\n');

    expect(exitA, `monitor ${a.name}'s exit on SIGTERM (ports: redis proxy ${redisProxy.port}, kafka proxy ${kafkaProxy.port}, smtp ${smtp.port}, redis ${redis.port})\n${a.tail()}`).toBe(0);
    expect(verdict.findings.missing, 'expected findings never made').toEqual([]);
    expect(verdict.findings.unexpected, 'findings made that replay does not make').toEqual([]);
    expect(verdict.findings.duplicatedByAnomaly, 'one anomaly under two findingIds').toEqual([]);
    expect(verdict.commands.duplicated, 'compensation commands duplicated').toEqual([]);
    expect(verdict.commands.missing, 'compensation commands lost').toEqual([]);
    expect(verdict.commands.unexpected, 'compensation commands nobody asked for').toEqual([]);
    expect(verdict.emails.duplicatedMessageIds, 'e-mails sent twice').toEqual([]);
    expect(verdict.emails.incidentsWithoutOpenedMail, 'incidents never mailed').toEqual([]);
  }, LONG ? 3_600_000 : 300_000);
});
