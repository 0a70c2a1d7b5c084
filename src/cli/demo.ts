import { parseArgs } from 'node:util';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { loadConfig, type Config } from '../config/config.ts';
import { isolatedEnv } from '../config/isolated-env.ts';
import { startMonitor } from '../app/monitor.ts';
import { createLogger } from '../observability/logger.ts';
import { detectionHandlerFactory } from '../app/detection-wiring.ts';
import { ensureStack } from '../../scripts/stack/index.ts';
import { produceCommand } from './produce.ts';
import { quietKnownKafkajsWarnings } from '../kafka/quiet-known-warnings.ts';
import { showDemoResults } from './demo-report.ts';
import type { CommandIo } from './io.ts';
import type { Finding } from '../../processors/core/finding.ts';

export const DEMO_HELP = `Usage: vigil demo [--traffic FILE]

The guided tour, on real services: brings up the local stack (Kafka, Apicurio schema registry, Redis,
an SMTP sink), publishes a minute of agent traffic with a few injected anomalies
(samples/demo-traffic.jsonl) as Avro, runs the monitor until every event is consumed, shows what it
consumed, found and did, and stops. The stack is left running for the next run
(npm run stack:down stops it). Each run uses topics and Redis keys of its own.
`;

const DEFAULT_TRAFFIC = fileURLToPath(new URL('../../samples/demo-traffic.jsonl', import.meta.url));

export async function demoCommand(argv: string[], io: CommandIo): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { traffic: { type: 'string' }, help: { type: 'boolean', short: 'h' } } });
  if (values.help) {
    io.stdout.write(DEMO_HELP);
    return 0;
  }
  const say = (s: string) => io.stdout.write(s + '\n');
  const traffic = values.traffic ?? DEFAULT_TRAFFIC;
  quietKnownKafkajsWarnings();

  say('▶ Bringing up the local stack (first run downloads Kafka and Apicurio from Maven Central)…');
  const t0 = Date.now();
  const stack = await ensureStack({ quiet: false });
  say(`  Kafka ${stack.kafkaBrokers} · registry ${stack.schemaRegistryUrl} · Redis ${stack.redisUrl} · SMTP ${stack.smtpUrl}  (${((Date.now() - t0) / 1000).toFixed(1)} s)`);

  const run = `demo-${new Date().toISOString().slice(0, 19).replace(/[-:T]/g, '')}-${randomUUID().slice(0, 4)}`;
  const env: NodeJS.ProcessEnv = {
    ...io.env,
    ...isolatedEnv(run, stack),
    KAFKA_GROUP_ID: `${run}-monitor`,
    VIGIL_PARTITIONS: '3',
    VIGIL_METRICS_PORT: '0',
    VIGIL_HTTP_PORT: '0',
    VIGIL_LOG_LEVEL: io.env.VIGIL_LOG_LEVEL ?? 'error', // the report below shows what the logs would
  };
  const config: Config = loadConfig(env);
  const logger = createLogger({ level: config.logLevel });

  say(`\n▶ Publishing ${traffic.replace(/^.*\/samples\//, 'samples/')} to ${config.kafka.topics.actions} (Avro, via the registry)…`);
  const produced = await countingProduce(traffic, io, env);
  say(`  ${produced} events published`);

  say('\n▶ Running the monitor until the traffic is consumed…');
  const started = Date.now();
  const raised = new Map<string, Finding>();
  const monitor = await startMonitor(config, { logger, handler: detectionHandlerFactory(config, logger, { onFinding: (f) => raised.set(f.findingId, f) }) });
  try {
    const deadline = Date.now() + 120_000;
    while (monitor.ingest.stats.consumed < produced) {
      if (Date.now() > deadline) throw new Error(`only ${monitor.ingest.stats.consumed} of ${produced} events consumed after 120 s`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const s = monitor.ingest.stats;
    say(`  consumed ${s.consumed} events in ${((Date.now() - started) / 1000).toFixed(1)} s: ${s.handled} handed to the detectors, ${s.duplicates} duplicates skipped, ${s.deadLettered} dead-lettered`);
    say(`  metrics: http://${config.metrics.host}:${monitor.metricsPort}/metrics`);
    await showDemoResults({ config, monitor, stack, raised, say, traffic });
  } finally {
    await monitor.stop();
  }
  say('\n✔ Monitor stopped cleanly. The stack is still up for the next run; `npm run stack:down` stops it.');
  return 0;
}

async function countingProduce(file: string, io: CommandIo, env: NodeJS.ProcessEnv): Promise<number> {
  let text = '';
  const sink = { write: (c: string) => ((text += String(c)), true) };
  const code = await produceCommand([file], { ...io, stdout: sink as never, stderr: sink as never, env });
  const m = /produced (\d+) events/.exec(text.trim().split('\n').pop() ?? '');
  if (code !== 0 || !m) throw new Error(`publishing the demo traffic failed: ${text}`);
  return Number(m[1]);
}
