import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { appendFileSync, cpSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { ensureKafkaLibs } from './downloads.ts';
import type { JavaRuntime } from './java-finder.ts';
import type { PieceContext } from './piece-context.ts';
import { isAlive, pollUntil, spawnDetached, stopOnFailure, stopProcess, tailFile } from './process-utils.ts';
import { StackPieceError } from './stack-errors.ts';
import type { PieceRecord } from './stack-state.ts';

/**
 * Apache Kafka 4.x, one KRaft node that is both broker and controller, run from its Maven Central jars.
 * Data lives in <runtimeDir>/kafka and starts empty at each start (a test stack keeps nothing).
 */

export const KAFKA_PORT = 19092;
export const KAFKA_CONTROLLER_PORT = 19093;
const HEAP = ['-Xms256m', '-Xmx768m', '-XX:+UseSerialGC'];

/** Fetches the jars (first run), lays down empty formatted storage, starts the broker and waits until it serves. */
export async function startKafka(ctx: PieceContext, java: JavaRuntime): Promise<PieceRecord> {
  const { config } = ctx;
  const libs = await ensureKafkaLibs({
    cacheDir: config.cacheDir,
    version: config.kafkaVersion,
    pomPath: join(config.repoDir, 'scripts', 'stack', 'kafka', 'pom.xml'),
    env: config.childEnv,
    log: ctx.log,
  });
  const port = await ctx.claimPort(KAFKA_PORT);
  const controllerPort = await ctx.claimPort(KAFKA_CONTROLLER_PORT);
  const home = join(config.runtimeDir, 'kafka');
  const logPath = join(ctx.logsDir, 'kafka.log');
  rmSync(home, { recursive: true, force: true });
  mkdirSync(home, { recursive: true });
  const props = join(home, 'server.properties');
  writeFileSync(props, serverProperties(port, controllerPort, join(home, 'data')));
  const log4j = join(home, 'log4j2.yaml');
  writeFileSync(log4j, LOG4J2_YAML);
  writeFileSync(logPath, '');
  const classpath = ['-cp', join(libs, '*'), `-Dlog4j2.configurationFile=${log4j}`];

  const template = await formattedTemplate(java, libs, classpath, port, controllerPort, logPath);
  cpSync(template, join(home, 'data'), { recursive: true });
  ctx.log(`kafka: starting Kafka ${config.kafkaVersion} on 127.0.0.1:${port} (Java ${java.major})`);
  const cds = classDataSharing(libs, java);
  const pid = spawnDetached(java.bin, [...HEAP, ...cds.flags, ...classpath, 'kafka.Kafka', props], { logPath, cwd: home, env: config.childEnv });
  const brokers = `127.0.0.1:${port}`;
  await stopOnFailure(pid, async () => {
    await pollUntil(async () => readFileSync(logPath, 'utf8').includes('Kafka Server started'), {
      timeoutMs: config.startTimeoutMs,
      intervalMs: 250,
      abort: () => (isAlive(pid) ? undefined : 'the broker process exited'),
      onTimeout: (why) => new StackPieceError('kafka', why, { logPath, logTail: tailFile(logPath) }),
    });
    await warmUp(brokers, 60_000).catch((e: unknown) => {
      throw new StackPieceError('kafka', `the broker started but a kafkajs admin call failed: ${(e as Error).message}`, { logPath, logTail: tailFile(logPath), cause: e });
    });
  });
  return {
    piece: 'kafka',
    managed: true,
    address: brokers,
    pid,
    ports: { broker: port, controller: controllerPort },
    logPath,
    detail: `Kafka ${config.kafkaVersion} (KRaft) on Java ${java.major}${cds.pendingArchive === undefined ? ', CDS archive' : ''}`,
    ...(cds.pendingArchive === undefined ? {} : { pendingArchive: cds.pendingArchive }),
    startedAt: new Date().toISOString(),
  };
}

/** What startKafkaBroker needs: where the jars are cached, where the broker lives, and what to add. */
export interface KafkaBrokerOptions {
  java: JavaRuntime;
  cacheDir: string;
  version: string;
  /** scripts/stack/kafka/pom.xml (the jars' Maven project). */
  pomPath: string;
  childEnv: NodeJS.ProcessEnv;
  /** A fresh directory for its config, data and log. */
  home: string;
  port: number;
  controllerPort: number;
  /** Listeners beside PLAINTEXT on `port` (which stays the inter-broker one). */
  listeners?: readonly ExtraListener[];
  /** More server.properties (TLS key store, SASL mechanisms…). */
  properties?: Readonly<Record<string, string>>;
  /** More arguments to the storage format, e.g. ['--add-scram', 'SCRAM-SHA-256=[name=vigil,password=…]']. */
  formatArgs?: readonly string[];
  /** Keep the storage already in `home` (a restart of a stopped broker): format only when there is none. */
  keepStorage?: boolean;
  startTimeoutMs?: number;
  log?: (msg: string) => void;
}

/**
 * Starts a broker of a caller's own from the same cached jars as the stack's, with extra listeners and
 * properties (tests of TLS and SASL start one beside the shared broker, never reconfiguring it). Its
 * storage is formatted fresh, with `formatArgs` (SCRAM credentials are written at format time in KRaft).
 * Resolves once the log says it started; stop() ends it.
 */
export async function startKafkaBroker(o: KafkaBrokerOptions): Promise<{ pid: number; logPath: string; stop(): Promise<void> }> {
  const log = o.log ?? (() => {});
  const libs = await ensureKafkaLibs({ cacheDir: o.cacheDir, version: o.version, pomPath: o.pomPath, env: o.childEnv, log });
  mkdirSync(join(o.home, 'data'), { recursive: true });
  const props = join(o.home, 'server.properties');
  writeFileSync(props, serverProperties(o.port, o.controllerPort, join(o.home, 'data'), { listeners: o.listeners ?? [], properties: o.properties ?? {} }));
  const log4j = join(o.home, 'log4j2.yaml');
  writeFileSync(log4j, LOG4J2_YAML);
  const logPath = join(o.home, 'kafka.log');
  writeFileSync(logPath, '');
  const classpath = ['-cp', join(libs, '*'), `-Dlog4j2.configurationFile=${log4j}`];
  if (!o.keepStorage || !existsSync(join(o.home, 'data', 'meta.properties'))) await formatStorage(o.java.bin, ['-XX:TieredStopAtLevel=1', '-XX:+UseSerialGC', ...classpath, 'kafka.tools.StorageTool', 'format', '--standalone', '-t', clusterId(), '-c', props, ...(o.formatArgs ?? [])], logPath);
  // The stack's class-data archive when there is one (never a new one: that is the stack's to write).
  const archive = join(dirname(libs), `cds-java${o.java.major}.jsa`);
  const cds = existsSync(archive) ? [`-XX:SharedArchiveFile=${archive}`] : [];
  const pid = spawnDetached(o.java.bin, [...HEAP, ...cds, ...classpath, 'kafka.Kafka', props], { logPath, cwd: o.home, env: o.childEnv });
  await stopOnFailure(pid, () =>
    pollUntil(async () => readFileSync(logPath, 'utf8').includes('Kafka Server started'), {
      timeoutMs: o.startTimeoutMs ?? 180_000,
      intervalMs: 250,
      abort: () => (isAlive(pid) ? undefined : 'the broker process exited'),
      onTimeout: (why) => new StackPieceError('kafka', why, { logPath, logTail: tailFile(logPath) }),
    }),
  );
  return { pid, logPath, stop: async () => void (await stopProcess(pid, 20_000)) };
}

/** True when a kafkajs admin client can connect and describe the cluster at `brokers`. */
export async function kafkaHealthy(brokers: string, timeoutMs = 3000): Promise<boolean> {
  const kafka = new Kafka({
    clientId: 'vigil-stack-check',
    brokers: brokers.split(','),
    logLevel: logLevel.NOTHING,
    connectionTimeout: Math.min(timeoutMs, 3000),
    requestTimeout: timeoutMs,
    retry: { retries: 0 },
  });
  const admin = kafka.admin();
  try {
    await admin.connect();
    const cluster = await admin.describeCluster();
    return cluster.brokers.length > 0;
  } catch {
    return false;
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

/**
 * One admin round trip, then a group-coordinator lookup: that creates __consumer_offsets now, so the
 * first test's consumer group does not wait for it.
 */
export async function warmUp(brokers: string, timeoutMs: number): Promise<void> {
  const kafka = new Kafka({ clientId: 'vigil-stack-warmup', brokers: [brokers], logLevel: logLevel.NOTHING, retry: { retries: 5, initialRetryTime: 200 } });
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.describeCluster();
    // NOT_COORDINATOR / COORDINATOR_LOAD_IN_PROGRESS while __consumer_offsets is being created: try again.
    let lastError: unknown;
    await pollUntil(
      async () => {
        try {
          await admin.fetchOffsets({ groupId: 'vigil-stack-warmup' });
          return true;
        } catch (e) {
          lastError = e;
          return false;
        }
      },
      { timeoutMs, intervalMs: 250, onTimeout: () => (lastError instanceof Error ? lastError : new Error('the group coordinator did not become available')) },
    );
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

/**
 * Class data sharing: the JVM maps the broker's ~5,000 classes from an archive instead of loading them,
 * which takes seconds off a start on two busy cores. The first broker on a JDK writes the archive when
 * it exits (at `down`: `pendingArchive`, moved into place by publishArchive); later ones map it. A
 * stale or damaged archive is ignored by the JVM (it logs a warning and starts without).
 */
function classDataSharing(libs: string, java: JavaRuntime): { flags: string[]; pendingArchive?: string } {
  const archive = join(dirname(libs), `cds-java${java.major}.jsa`);
  if (existsSync(archive)) return { flags: [`-XX:SharedArchiveFile=${archive}`] };
  const pendingArchive = `${archive}.${process.pid}-${randomBytes(3).toString('hex')}.dumping`;
  return { flags: [`-XX:ArchiveClassesAtExit=${pendingArchive}`], pendingArchive };
}

/** After the broker stopped: moves an archive it wrote at exit into place (or drops a partial one). */
export function publishArchive(pendingArchive: string, stoppedCleanly: boolean): void {
  try {
    if (stoppedCleanly && statSync(pendingArchive).size > 0) renameSync(pendingArchive, pendingArchive.replace(/\.[^.]+\.dumping$/, ''));
    else rmSync(pendingArchive, { force: true });
  } catch {
    rmSync(pendingArchive, { force: true });
  }
}

/**
 * Freshly formatted, empty KRaft storage, made once per controller port (the voter record holds the
 * controller's endpoint; nothing else in it depends on ports or paths) in the cache, then copied into
 * each new data dir: a format is a JVM start of 2-5 s saved on every `up`.
 */
async function formattedTemplate(java: JavaRuntime, libs: string, classpath: readonly string[], port: number, controllerPort: number, logPath: string): Promise<string> {
  const template = join(dirname(libs), 'formatted', `controller-${controllerPort}`);
  if (existsSync(join(template, 'meta.properties'))) return template;
  const tmp = `${template}.${process.pid}.tmp`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(join(tmp, 'data'), { recursive: true });
  const props = join(tmp, 'server.properties');
  writeFileSync(props, serverProperties(port, controllerPort, join(tmp, 'data')));
  // A short-lived tool: C1 only starts faster.
  await formatStorage(java.bin, ['-XX:TieredStopAtLevel=1', '-XX:+UseSerialGC', ...classpath, 'kafka.tools.StorageTool', 'format', '--standalone', '-t', clusterId(), '-c', props], logPath);
  if (existsSync(join(template, 'meta.properties'))) {
    rmSync(tmp, { recursive: true, force: true }); // another `up` made it meanwhile
  } else {
    rmSync(template, { recursive: true, force: true });
    renameSync(join(tmp, 'data'), template);
    rmSync(tmp, { recursive: true, force: true });
  }
  return template;
}

function formatStorage(javaBin: string, args: readonly string[], logPath: string): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(javaBin, args, { maxBuffer: 16 * 1024 * 1024, timeout: 120_000 }, (err, stdout, stderr) => {
      appendFileSync(logPath, `${stdout}${stderr}`);
      if (err === null) return resolve();
      reject(new StackPieceError('kafka', `formatting the storage (kafka.tools.StorageTool) failed: ${err.message.split('\n')[0]}`, { logPath, logTail: tailFile(logPath) }));
    });
  });
}

/** A cluster id as Kafka's Uuid.randomUuid() makes them: 16 random bytes, base64url, not starting with '-'. */
function clusterId(): string {
  for (;;) {
    const id = randomBytes(16).toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}

/**
 * A listener beside the PLAINTEXT one (its name is its security protocol), e.g. SASL_SSL on a port of its
 * own. `PROXIED` is plaintext too, advertised on `advertisedPort`: clients reach it through a proxy there.
 */
export interface ExtraListener {
  name: 'SSL' | 'SASL_SSL' | 'SASL_PLAINTEXT' | 'PROXIED';
  port: number;
  /** The port clients are told to use (default `port`). */
  advertisedPort?: number;
}

function serverProperties(port: number, controllerPort: number, dataDir: string, extra: { listeners?: readonly ExtraListener[]; properties?: Readonly<Record<string, string>> } = {}): string {
  const more = extra.listeners ?? [];
  const listeners = [`PLAINTEXT://127.0.0.1:${port}`, ...more.map((l) => `${l.name}://127.0.0.1:${l.port}`)];
  const advertised = [`PLAINTEXT://127.0.0.1:${port}`, ...more.map((l) => `${l.name}://127.0.0.1:${l.advertisedPort ?? l.port}`)];
  const props = Object.entries(extra.properties ?? {}).map(([k, v]) => `${k}=${v}`).join('\n');
  return `# Written by scripts/stack/kafka-piece.ts: single-node KRaft for tests and the demo.
process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers=127.0.0.1:${controllerPort}
listeners=${[...listeners, `CONTROLLER://127.0.0.1:${controllerPort}`].join(',')}
advertised.listeners=${advertised.join(',')}
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=${['CONTROLLER:PLAINTEXT', 'PLAINTEXT:PLAINTEXT', ...more.map((l) => `${l.name}:${l.name === 'PROXIED' ? 'PLAINTEXT' : l.name}`)].join(',')}
${props ? props + '\n' : ''}log.dirs=${dataDir}
num.partitions=1
default.replication.factor=1
auto.create.topics.enable=true
offsets.topic.replication.factor=1
offsets.topic.num.partitions=4
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=4
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
share.coordinator.state.topic.num.partitions=1
group.initial.rebalance.delay.ms=0
num.network.threads=2
num.io.threads=4
num.recovery.threads.per.data.dir=1
log.retention.hours=24
`;
}

const LOG4J2_YAML = `Configuration:
  name: vigil-stack-kafka
  Appenders:
    Console:
      name: STDOUT
      PatternLayout:
        pattern: "[%d] %p %m (%c)%n"
  Loggers:
    Root:
      level: INFO
      AppenderRef:
        - ref: STDOUT
    Logger:
      - name: org.apache.kafka.clients
        level: WARN
      - name: kafka.request.logger
        level: WARN
`;
