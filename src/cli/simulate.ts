import { createWriteStream, writeFileSync } from 'node:fs';
import { randomInt } from 'node:crypto';
import { parseArgs } from 'node:util';
import { loadConfig } from '../config/config.ts';
import { createLogger, silentLogger } from '../observability/logger.ts';
import { jsonlSink, openKafkaSink, type EventSink } from '../simulate/kafka-output.ts';
import { runLive, runOffline } from '../simulate/run-simulation.ts';
import { SCENARIOS, scenariosNamed } from '../simulate/scenarios.ts';
import { Simulator, usersFor } from '../simulate/simulator.ts';
import { VendorAdapter } from '../simulate/vendor-adapter.ts';
import { UsageError, type CommandIo } from './io.ts';

export const SIMULATE_HELP = `Usage: vigil simulate [--rate N] [--duration S | --events N] [--seed N] [--scenario NAME[,NAME…]]
                      [--out FILE] [--start TIME] [--users N] [--topic NAME] [--json] [--no-adapter]
                      [--manifest FILE] [--config FILE] [--list-scenarios]

Realistic agent traffic: users, agents and vendors; intents through confirmation, step-up and
authorization; vendor calls with latency and errors; retries under the same idempotency key; users
cancelling bookings and revoking consent. Normal traffic raises no finding. Named scenarios inject
trouble on top of it, one per anomaly kind (--list-scenarios), one after the other from 5 s in.
Seeded: the same options give the same events, ids included.

Without --out it publishes to Kafka live (event time = now; Avro through SCHEMA_REGISTRY_URL as
vigil produce does, keyed by userId) and runs a simulated vendor adapter that answers vigil's
compensation commands (safety.compensations, read_committed) with compensation.requested, then
compensation.succeeded, on agent.actions. With --out it writes JSON Lines as fast as it can, for
vigil replay or a benchmark.

Options:
  --rate N           events per second of normal traffic (default 50)
  --duration S       seconds of traffic (default: until Ctrl-C; 60 with --out)
  --events N         stop after N events
  --seed N           random seed (default: a new one, printed)
  --scenario LIST    comma-separated scenario names, or all
  --scenario-start S seconds before the first scenario (default 5); --scenario-gap S between two (default 2.5)
  --out FILE         write JSON Lines to FILE ("-": standard output) instead of Kafka
  --start TIME       event time of the start, RFC 3339 (default: now; 2026-11-20T00:00:00.000Z with --out)
  --users N          simulated users (default: 60 per event/s, at least 2000)
  --topic NAME       topic to publish to (default: kafka.topics.actions)
  --json             publish JSON even when a schema registry is configured
  --no-adapter       do not answer compensation commands
  --manifest FILE    write the injected scenarios (kind, scope, when) as JSON at the end
  --config FILE      configuration file (same as VIGIL_CONFIG)
  --list-scenarios   print the scenarios and exit

Ctrl-C ends the traffic where it stands (intents under way are cut off) and exits cleanly.
`;

const num = (name: string, v: string | undefined, min: number): number | undefined => {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n < min) throw new UsageError(`--${name} must be a number ≥ ${min}, got "${v}"`);
  return n;
};

export async function simulateCommand(argv: string[], io: CommandIo): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      rate: { type: 'string' }, duration: { type: 'string' }, events: { type: 'string' }, seed: { type: 'string' },
      scenario: { type: 'string' }, 'scenario-start': { type: 'string' }, 'scenario-gap': { type: 'string' },
      out: { type: 'string' }, start: { type: 'string' }, users: { type: 'string' }, topic: { type: 'string' },
      json: { type: 'boolean' }, 'no-adapter': { type: 'boolean' }, manifest: { type: 'string' }, config: { type: 'string' },
      'list-scenarios': { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return void io.stdout.write(SIMULATE_HELP), 0;
  if (values['list-scenarios']) {
    for (const s of SCENARIOS) io.stdout.write(`${s.name.padEnd(24)} ${s.kind.padEnd(30)} ${s.story}\n`);
    return 0;
  }
  const rate = num('rate', values.rate, 0.001) ?? 50;
  const toFile = values.out !== undefined;
  const seconds = num('duration', values.duration, 0.001) ?? (toFile && values.events === undefined ? 60 : undefined);
  const maxEvents = num('events', values.events, 1);
  const seed = num('seed', values.seed, 0) ?? randomInt(1, 2 ** 31);
  let scenarios;
  try {
    scenarios = values.scenario ? scenariosNamed(values.scenario) : [];
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const start = values.start !== undefined ? Date.parse(values.start) : toFile ? Date.parse('2026-11-20T00:00:00.000Z') : Date.now();
  if (Number.isNaN(start)) throw new UsageError(`--start must be an RFC 3339 time, got "${values.start}"`);
  const sim = new Simulator({
    seed, rate, start, durationMs: seconds === undefined ? undefined : Math.round(seconds * 1000), scenarios,
    scenarioStartMs: Math.round((num('scenario-start', values['scenario-start'], 0) ?? 5) * 1000),
    scenarioGapMs: Math.round((num('scenario-gap', values['scenario-gap'], 0) ?? 2.5) * 1000),
    users: num('users', values.users, 1) ?? usersFor(rate),
  });
  const say = (s: string) => io.stderr.write(`simulate: ${s}\n`);
  say(`seed ${seed} (--seed ${seed} gives the same events), ${rate} events/s${seconds !== undefined ? ` for ${seconds} s` : ''}${maxEvents !== undefined ? `, at most ${maxEvents} events` : ''}${scenarios.length ? `, scenarios ${scenarios.map((s) => s.name).join(', ')}` : ''}`);

  const ctl = new AbortController();
  const onSignal = () => ctl.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const started = Date.now();
  let sent = 0;
  let adapter: VendorAdapter | undefined;
  let sink: EventSink;
  try {
    if (toFile) {
      sink = jsonlSink(values.out === '-' ? process.stdout : createWriteStream(values.out!));
      sent = await runOffline(sim, sink, { maxEvents, signal: ctl.signal });
      await sink.close();
    } else {
      const config = loadConfig(values.config ? { ...io.env, VIGIL_CONFIG: values.config } : io.env);
      const logger = config.logLevel === 'debug' ? createLogger({ level: 'debug', write: (l) => void io.stderr.write(l + '\n') }) : silentLogger;
      const kafka = await openKafkaSink(config, logger, { ...(values.topic ? { topic: values.topic } : {}), ...(values.json ? { json: true } : {}) });
      sink = kafka;
      if (!values['no-adapter']) {
        adapter = new VendorAdapter({
          kafka: kafka.kafka, topic: config.kafka.topics.compensations, groupId: `${config.kafka.groupId}.simulated-vendors`,
          registry: kafka.schemas?.registry, targetOf: (id) => sim.world.targets.get(id), emit: (evs) => kafka.send(evs), logger,
        });
        await adapter.start();
      }
      let last = Date.now();
      sent = await runLive(sim, kafka, {
        maxEvents, signal: ctl.signal,
        onBatch: (n) => {
          if (Date.now() - last < 1000) return;
          last = Date.now();
          const a = adapter?.stats;
          say(`${n} events (${Math.round((n * 1000) / (last - started))}/s), ${sim.injected.length} scenarios injected${a ? `, ${a.succeeded + a.failed} compensations answered` : ''}…`);
        },
      });
      await adapter?.stop();
      await kafka.close();
    }
  } finally {
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
  }
  const secs = (Date.now() - started) / 1000;
  say(`${sent} events ${toFile ? `to ${values.out === '-' ? 'standard output' : values.out}` : 'to Kafka'} in ${secs.toFixed(1)} s${ctl.signal.aborted ? ' (stopped)' : ''}${adapter ? `; ${adapter.stats.succeeded + adapter.stats.failed} compensations answered` : ''}`);
  for (const i of sim.injected) say(`  ${i.scenario.padEnd(24)} ${i.kind.padEnd(30)} ${i.scope.type}:${i.scope.id} at ${new Date(i.at).toISOString()}`);
  if (values.manifest) writeFileSync(values.manifest, JSON.stringify({ seed, rate, start: new Date(start).toISOString(), events: sent, injected: sim.injected.map((i) => ({ ...i, at: new Date(i.at).toISOString(), until: new Date(i.until).toISOString() })) }, null, 2) + '\n');
  return 0;
}
