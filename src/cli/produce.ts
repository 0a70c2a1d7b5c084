import { parseArgs } from 'node:util';
import { loadConfig } from '../config/config.ts';
import { createLogger, silentLogger } from '../observability/logger.ts';
import { connectAdmin, createKafka, PRODUCER_OPTIONS } from '../kafka/kafka-client.ts';
import { ensureTopics } from '../kafka/topics.ts';
import { registerSchemas, registryConnection } from '../kafka/schema-registry.ts';
import { encodeEvent } from '../kafka/event-codec.ts';
import { avroSchema } from '../kafka/schemas.ts';
import { validateEvent, InvalidEventError } from '../../processors/core/validate-event.ts';
import { schemaSubjects } from '../app/monitor.ts';
import { readJsonl } from './jsonl-reader.ts';
import { UsageError, type CommandIo } from './io.ts';

export const PRODUCE_HELP = `Usage: vigil produce FILE [--topic NAME] [--json] [--config FILE]

Publishes agent action events from a JSON Lines file (one event per line, the shape of the event
contract; FILE "-" reads standard input) to Kafka, keyed by userId. Each event is validated first;
an invalid line is reported on standard error with its line number and skipped.

Encoding: Avro through the schema registry (SCHEMA_REGISTRY_URL) in the Confluent wire format, or
JSON when no registry is configured or --json is given.

Options:
  --topic NAME   topic to publish to (default: kafka.topics.actions, agent.actions)
  --json         publish JSON even when a schema registry is configured
  --config FILE  configuration file (same as VIGIL_CONFIG)

Exit status: 0 when the file was read (even with bad lines), 2 when it cannot be read or the
command line is wrong, 1 when Kafka or the registry fails.
`;

const BATCH = 500;

export async function produceCommand(argv: string[], io: CommandIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { topic: { type: 'string' }, json: { type: 'boolean' }, config: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help) {
    io.stdout.write(PRODUCE_HELP);
    return 0;
  }
  if (positionals.length !== 1) throw new UsageError('vigil produce takes exactly one FILE (or - for standard input)');
  const file = positionals[0]!;
  const config = loadConfig(values.config ? { ...io.env, VIGIL_CONFIG: values.config } : io.env);
  // kafkajs's own retries are logged only with VIGIL_LOG_LEVEL=debug: a failure ends in one clear line.
  const logger = config.logLevel === 'debug' ? createLogger({ level: 'debug', write: (l) => void io.stderr.write(l + '\n') }) : silentLogger;
  const topic = values.topic ?? config.kafka.topics.actions;
  const lines = readJsonl(file, io.stdin);

  const kafka = createKafka(config, logger, '-producer');
  const admin = await connectAdmin(kafka, config);
  await ensureTopics(admin, config).finally(() => admin.disconnect());
  const useAvro = !values.json && config.schemaRegistry.url !== undefined;
  let avro: Parameters<typeof encodeEvent>[1];
  if (useAvro) {
    const schemas = await registerSchemas(registryConnection(config)!, { ...schemaSubjects(config), 'agent-action': topic });
    const fields = (avroSchema('agent-action').fields as { name: string }[]).map((f) => f.name);
    avro = { registry: schemas.registry, schemaId: schemas.ids['agent-action']!, fields };
  }
  const producer = kafka.producer(PRODUCER_OPTIONS);
  await producer.connect();

  const started = Date.now();
  let sent = 0;
  let bad = 0;
  let lastReport = started;
  let pending: { key: string; value: Buffer }[] = [];
  const flush = async () => {
    if (pending.length === 0) return;
    await producer.send({ topic, acks: -1, messages: pending });
    sent += pending.length;
    pending = [];
    const now = Date.now();
    if (now - lastReport >= 1000) {
      lastReport = now;
      io.stderr.write(`produced ${sent} events (${Math.round((sent * 1000) / (now - started))}/s)…\n`);
    }
  };
  try {
    for await (const line of lines) {
      if (line.error) {
        bad++;
        io.stderr.write(`${file}:${line.lineNo}: ${line.error}; skipped\n`);
        continue;
      }
      let event;
      try {
        // validate a copy: validation adds `ts`, which is not part of the wire format
        event = validateEvent(structuredClone(line.value));
      } catch (e) {
        if (!(e instanceof InvalidEventError)) throw e;
        bad++;
        io.stderr.write(`${file}:${line.lineNo}: invalid event: ${e.message}; skipped\n`);
        continue;
      }
      pending.push({ key: event.userId, value: await encodeEvent(line.value as Record<string, unknown>, avro) });
      if (pending.length >= BATCH) await flush();
    }
    await flush();
  } finally {
    await producer.disconnect();
  }
  const secs = (Date.now() - started) / 1000;
  io.stderr.write(`produced ${sent} events to ${topic} (${useAvro ? 'Avro' : 'JSON'}) in ${secs.toFixed(1)} s${bad ? `; ${bad} bad line(s) skipped` : ''}\n`);
  return 0;
}
