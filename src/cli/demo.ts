import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { randomBytes, randomInt, randomUUID } from 'node:crypto';
import { loadConfig } from '../config/config.ts';
import { isolatedEnv } from '../config/isolated-env.ts';
import { startMonitor } from '../app/monitor.ts';
import { createLogger, silentLogger } from '../observability/logger.ts';
import { detectionHandlerFactory } from '../app/detection-wiring.ts';
import { ensureStack } from '../../scripts/stack/index.ts';
import { quietKnownKafkajsWarnings } from '../kafka/quiet-known-warnings.ts';
import type { Finding } from '../../processors/core/finding.ts';
import { openKafkaSink } from '../simulate/kafka-output.ts';
import { runLive } from '../simulate/run-simulation.ts';
import { SCENARIOS } from '../simulate/scenarios.ts';
import { Simulator } from '../simulate/simulator.ts';
import { VendorAdapter } from '../simulate/vendor-adapter.ts';
import { writeDemoPolicy } from './demo-policy.ts';
import { reportJson, reportLines } from './demo-report.ts';
import { DemoState, mailsTo, type DemoSnapshot } from './demo-state.ts';
import { InPlaceView, printable, progressLine, renderView } from './demo-view.ts';
import { UsageError, type CommandIo } from './io.ts';

export const DEMO_HELP = `Usage: vigil demo [--duration S] [--rate N] [--seed N] [--keep-running] [--report-json FILE]

The guided tour, on real services: brings up the local stack (Kafka, Apicurio schema registry, Redis,
an SMTP sink), starts the monitor, and runs simulated agent traffic (vigil simulate) with every
scenario injected, one per anomaly kind, plus a simulated vendor adapter that undoes what vigil asks
it to. A live view shows events/s, findings by kind, breakers open and why, compensations, e-mails
and alerts; a short report ends it: what was caught, what was done, where to read the e-mails, the
operator console and /metrics. Ctrl-C stops it cleanly at any time.

The demo runs with vigil.policy.yaml's shorter-waits copy (src/cli/demo-policy.ts: orphaned after
20 s, breakers open 3 min, first e-mail after 5 s). Each run uses topics and Redis keys of its own;
the stack is left running for the next run (npm run stack:down stops it).

Options:
  --duration S        seconds of traffic (default 90; the scenarios fit in the first half)
  --rate N            events per second of normal traffic (default 50)
  --seed N            the simulation's seed (default: a new one, printed)
  --keep-running      after the report, keep the monitor and its console up until Ctrl-C
  --report-json FILE  also write the report as JSON
`;

/** A free port: `preferred` when it is free, else any. */
async function portOr(preferred: number): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(0));
    s.listen(preferred, '127.0.0.1', () => s.close(() => resolve(preferred)));
  });
}

export async function demoCommand(argv: string[], io: CommandIo): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: { duration: { type: 'string' }, rate: { type: 'string' }, seed: { type: 'string' }, 'keep-running': { type: 'boolean' }, 'report-json': { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help) return void io.stdout.write(DEMO_HELP), 0;
  const positive = (name: string, v: string | undefined, dflt: number) => {
    const n = v === undefined ? dflt : Number(v);
    if (!Number.isFinite(n) || n <= 0) throw new UsageError(`--${name} must be a number above 0, got "${v}"`);
    return n;
  };
  const durationS = positive('duration', values.duration, 90);
  const rate = positive('rate', values.rate, 50);
  const seed = values.seed === undefined ? randomInt(1, 2 ** 31) : positive('seed', values.seed, 1);
  const startedAt = Math.round(performance.timeOrigin);
  const tty = io.stdout.isTTY === true;
  const say = (s: string) => io.stdout.write(s + '\n');
  if (durationS < 60) say(`(the scenarios need about 60 s of traffic: with --duration ${durationS} some may not be found)`);
  quietKnownKafkajsWarnings();

  const ctl = new AbortController();
  let interrupts = 0;
  const onSignal = () => {
    if (++interrupts > 1) process.exit(130);
    say('\n▶ Stopping (Ctrl-C again to quit at once)…');
    ctl.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const dir = mkdtempSync(join(tmpdir(), 'vigil-demo-'));
  try {
    say('▶ Bringing up the local stack (the first run downloads Kafka and Apicurio from Maven Central)…');
    const t0 = Date.now();
    const stack = await ensureStack({ quiet: false });
    say(`  Kafka ${stack.kafkaBrokers} · registry ${stack.schemaRegistryUrl} · Redis ${stack.redisUrl} · SMTP ${stack.smtpUrl}  (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
    if (ctl.signal.aborted) return 130;

    const run = `demo-${new Date().toISOString().slice(0, 19).replace(/[-:T]/g, '')}-${randomUUID().slice(0, 4)}`;
    const adminToken = randomBytes(12).toString('hex');
    const mailTo = `oncall-${run}@vigil.demo`;
    const env: NodeJS.ProcessEnv = {
      ...io.env,
      ...isolatedEnv(run, stack),
      KAFKA_GROUP_ID: `${run}-monitor`,
      VIGIL_PARTITIONS: '3',
      VIGIL_METRICS_PORT: String(await portOr(9464)),
      VIGIL_HTTP_PORT: String(await portOr(8088)),
      VIGIL_LOG_LEVEL: io.env.VIGIL_LOG_LEVEL ?? 'error', // the live view shows what the logs would
      VIGIL_POLICY: writeDemoPolicy(dir),
      VIGIL_ADMIN_TOKEN: adminToken,
      VIGIL_ONCALL_TO: mailTo,
      VIGIL_DEDUPE_TTL_SECONDS: '3600',
      // when the traffic stops, event time moves to its end after 5 s (not 30 s): the last decisions settle
      VIGIL_IDLE_PARTITION_MS: '5000',
    };
    const config = loadConfig(env);
    const logger = createLogger({ level: config.logLevel });

    say('\n▶ Starting the monitor (vigil run, in this process)…');
    const findings = new Map<string, { f: Finding; at: number }>();
    const monitor = await startMonitor(config, {
      logger,
      handler: detectionHandlerFactory(config, logger, { onFinding: (f) => void (findings.has(f.findingId) || findings.set(f.findingId, { f, at: Date.now() })) }),
    });
    const consoleUrl = monitor.apiPort ? `http://${config.http.host}:${monitor.apiPort}/console` : undefined;
    const metricsUrl = monitor.metricsPort ? `http://${config.metrics.host}:${monitor.metricsPort}/metrics` : undefined;
    say(`  operator console ${consoleUrl ?? '(off)'}  (admin token for its overrides: ${adminToken})`);
    say(`  metrics ${metricsUrl ?? '(off)'}`);
    let sink: Awaited<ReturnType<typeof openKafkaSink>> | undefined;
    let adapter: VendorAdapter | undefined;
    let snap: DemoSnapshot | undefined;
    try {
      sink = await openKafkaSink(config, silentLogger);
      const kafka = sink;
      const durationMs = Math.round(durationS * 1000);
      const gap = Math.max(800, Math.min(2500, (durationMs * 0.45 - 5000) / (SCENARIOS.length - 1)));
      const sim = new Simulator({ seed, rate, start: Date.now(), durationMs, scenarios: SCENARIOS, scenarioStartMs: 5000, scenarioGapMs: gap });
      adapter = new VendorAdapter({
        kafka: kafka.kafka, topic: config.kafka.topics.compensations, groupId: `${run}-simulated-vendors`, registry: kafka.schemas?.registry,
        targetOf: (id) => sim.world.targets.get(id), emit: (evs) => kafka.send(evs), logger: silentLogger,
      });
      await adapter.start();
      const a = adapter;
      const state = new DemoState({
        startedAt, monitor, findings, injected: () => sim.injected, trafficStart: sim.start, trafficTotalMs: durationMs,
        published: () => kafka.sent, adapter: () => a.stats, alertmanager: config.notify.alertmanagerUrls.length > 0,
      });
      say(`\n▶ Simulated traffic: ${rate} events/s for ${durationS} s (seed ${seed}), ${SCENARIOS.length} scenarios injected from 5 s on, ${(gap / 1000).toFixed(1)} s apart${tty ? '' : '; a progress line every 5 s'}\n`);
      const view = tty ? new InPlaceView(io.stdout) : undefined;
      let lastLine = 0;
      const shown = new Set<string>();
      const refresh = async () => {
        snap = await state.snapshot();
        if (view) return view.draw(renderView(snap, Math.max(60, (io.stdout as { columns?: number }).columns ?? 110)));
        for (const x of snap.scenarios) {
          if (x.foundAfterMs === undefined || shown.has(x.scenario)) continue;
          shown.add(x.scenario);
          say(`  found ${x.kind} on ${printable(`${x.scope.type}:${x.scope.id}`)} (scenario ${x.scenario}) at ${(x.foundAfterMs / 1000).toFixed(1)} s`);
        }
        if (Date.now() - lastLine >= 5000) {
          lastLine = Date.now();
          say(progressLine(snap));
        }
      };
      let refreshing = Promise.resolve();
      const timer = setInterval(() => {
        refreshing = refreshing.then(refresh).catch((e: unknown) => void say(`  (the view could not be refreshed: ${(e as Error).message})`));
      }, 1000);
      try {
        await runLive(sim, kafka, { signal: ctl.signal });
        if (!ctl.signal.aborted) {
          if (!view) say('▶ Traffic done; waiting for the last findings, compensations and e-mails (at most 30 s)…');
          const deadline = Date.now() + 30_000;
          while (!ctl.signal.aborted && Date.now() < deadline) {
            await refreshing;
            const s = snap ?? (await state.snapshot());
            const incidents = new Set(s.findings.map((f) => `${f.kind}|${f.scope.type}|${f.scope.id}`)).size;
            const c = s.compensations;
            if (s.scenarios.every((x) => x.foundAfterMs !== undefined) && c.answered >= c.requested && c.succeeded + c.failed >= c.requested && s.emails.sent >= incidents && s.consumed >= kafka.sent) break; // kafka.sent: every event, now the traffic is done (s may be a second old)
            await new Promise((r) => setTimeout(r, 500));
          }
        }
      } finally {
        clearInterval(timer);
        await refreshing;
      }
      snap = await state.snapshot();
      if (view) {
        view.draw(renderView(snap));
        view.release();
      }
      const places = {
        run, seed, rate, durationS, consoleUrl, metricsUrl, adminToken, mailDir: stack.mailDir, mailTo,
        mailFiles: mailsTo(stack.mailDir, mailTo, startedAt), kept: values['keep-running'] === true && !ctl.signal.aborted,
      };
      for (const l of reportLines(snap, places)) say(l);
      if (values['report-json']) writeFileSync(values['report-json'], JSON.stringify(reportJson(snap, places), null, 2) + '\n');
      if (places.kept) {
        say(`\n▶ The monitor keeps running: ${consoleUrl ?? ''} — Ctrl-C to stop.`);
        await new Promise<void>((r) => ctl.signal.addEventListener('abort', () => r(), { once: true }));
      }
    } finally {
      await adapter?.stop().catch(() => {});
      await sink?.close().catch(() => {});
      await monitor.stop();
    }
    say('\n✔ Monitor stopped cleanly. The stack is still up for the next run; `npm run stack:down` stops it.');
    return snap && snap.scenarios.every((x) => x.foundAfterMs !== undefined) ? 0 : ctl.signal.aborted ? 130 : 1;
  } finally {
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
    rmSync(dir, { recursive: true, force: true });
  }
}
