import { parseArgs } from 'node:util';
import { loadConfig } from '../config/config.ts';
import { startMonitor } from '../app/monitor.ts';
import { createLogger } from '../observability/logger.ts';
import { detectionHandlerFactory } from '../app/detection-wiring.ts';
import type { CommandIo } from './io.ts';

export const RUN_HELP = `Usage: vigil run [--config FILE]

Runs the monitor: consumes agent action events from Kafka (topic kafka.topics.actions, default
agent.actions) in a consumer group, decodes (Avro via the schema registry, or JSON), validates,
dead-letters bad events to agent.actions.dlq with a reason header, dedupes on eventId in Redis,
runs the detectors, and commits offsets once each batch's effects are durable. Findings trip
breakers, ask for compensations (commands on kafka.topics.compensations) and notify on-call
(e-mail over SMTP_URL, Alertmanager at VIGIL_ALERTMANAGER_URLS), per the policy file.

Configuration comes from the environment (KAFKA_BROKERS, SCHEMA_REGISTRY_URL, REDIS_URL, …) and
the optional file named by --config or VIGIL_CONFIG; see the README's Configuration table.
Prometheus metrics: http://<metrics.host>:<metrics.port>/metrics (default 127.0.0.1:9464).

Stops gracefully on SIGTERM or SIGINT: finishes and commits the batch in flight, then disconnects.
`;

export async function runCommand(argv: string[], io: CommandIo): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { config: { type: 'string' }, help: { type: 'boolean', short: 'h' } }, strict: true });
  if (values.help) {
    io.stdout.write(RUN_HELP);
    return 0;
  }
  const env = values.config ? { ...io.env, VIGIL_CONFIG: values.config } : io.env;
  const config = loadConfig(env);
  const logger = createLogger({ level: config.logLevel });
  const monitor = await startMonitor(config, { logger, handler: detectionHandlerFactory(config, logger) });

  let last = { consumed: 0, at: Date.now() };
  const progress = setInterval(() => {
    const s = monitor.ingest.stats;
    if (s.consumed === last.consumed) return;
    const now = Date.now();
    const rate = Math.round(((s.consumed - last.consumed) * 1000) / (now - last.at));
    logger.info('progress', { consumed: s.consumed, handled: s.handled, duplicates: s.duplicates, deadLettered: s.deadLettered, eventsPerSecond: rate });
    last = { consumed: s.consumed, at: now };
  }, 5000);

  await new Promise<void>((resolve) => {
    const shutdown = (signal: string) => {
      logger.info('stopping: finishing the batch in flight', { signal });
      resolve();
    };
    process.once('SIGTERM', () => shutdown('SIGTERM'));
    process.once('SIGINT', () => shutdown('SIGINT'));
  });
  clearInterval(progress);
  await monitor.stop();
  const s = monitor.ingest.stats;
  logger.info('stopped', { consumed: s.consumed, handled: s.handled, duplicates: s.duplicates, deadLettered: s.deadLettered });
  return 0;
}
