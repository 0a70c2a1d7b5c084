import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { findJavaRuntimes, javaAt, pickJava, type JavaRuntime } from './java-finder.ts';
import { kafkaHealthy, publishArchive, startKafka } from './kafka-piece.ts';
import { portClaimer, type PieceContext } from './piece-context.ts';
import { commandLine, isAlive, pidsWithCommandLine, stopProcess } from './process-utils.ts';
import { redisAnswers, startRedis } from './redis-piece.ts';
import { APICURIO_FOR_JAVA17, APICURIO_FOR_JAVA21, registryHealthy, startSchemaRegistry } from './schema-registry-piece.ts';
import { smtpAnswers, startSmtp } from './smtp-piece.ts';
import { DEFAULT_REDIS_URL, loadStackConfig, parseBrokers, urlHostPort, type StackConfig } from './stack-config.ts';
import { StackConfigError, StackPieceError, type PieceName } from './stack-errors.ts';
import { readState, withStackLock, writeJsonAtomic, writeState, type PieceRecord, type StackState } from './stack-state.ts';

/**
 * The local stack of real services for tests and the demo: Kafka (KRaft), Apicurio Registry, Redis and
 * an SMTP sink. `ensureStack()` starts what is missing and reuses what runs; `stopStack()` stops what it
 * started and removes the runtime dir; `stackStatus()` says what runs where.
 */

/** Where the stack's services are. */
export interface StackEndpoints {
  /** Comma-separated host:port list for kafkajs. */
  kafkaBrokers: string;
  /** Confluent-compatible base URL, e.g. http://127.0.0.1:18081/apis/ccompat/v7. */
  schemaRegistryUrl: string;
  redisUrl: string;
  /** smtp://host:port, no auth, no TLS. */
  smtpUrl: string;
  /** Where the SMTP sink stores .eml files ('' when SMTP_URL points elsewhere and VIGIL_MAIL_DIR is unset). */
  mailDir: string;
}

/** Options shared by ensureStack, stopStack and stackStatus. */
export interface StackOptions {
  /** No progress lines (errors still throw). */
  quiet?: boolean;
  /** Where progress lines go (default: stderr). */
  log?: (line: string) => void;
  /** The environment to read settings from (default: process.env). */
  env?: NodeJS.ProcessEnv;
}

/** One piece as `status` reports it. */
export interface PieceStatus {
  readonly piece: PieceName;
  /** running: ours and healthy; external: not ours, reachable; unhealthy: up but not answering. */
  readonly state: 'running' | 'external' | 'unhealthy' | 'unreachable' | 'stopped';
  readonly address: string | undefined;
  readonly pid: number | undefined;
  readonly logPath: string | undefined;
  /** Every port a started piece listens on, by role (e.g. { http: 18081, management: 18082 }). */
  readonly ports: Readonly<Record<string, number>> | undefined;
  readonly detail: string | undefined;
}

const PIECES: readonly PieceName[] = ['kafka', 'schema-registry', 'redis', 'smtp'];
/** A recorded pid is ours only if its command line still contains this (pids get reused). */
const MARKERS: Record<PieceName, string> = {
  kafka: 'kafka.Kafka',
  'schema-registry': 'apicurio',
  redis: 'redis-server',
  smtp: 'smtp-sink',
};

/**
 * What the command line of a process of this stack's piece contains (its runtime paths), to find
 * strays: processes of ours that state.json does not know (a crash between spawn and record). Redis
 * rewrites its process title, so only its recorded pid is used.
 */
function strayNeedles(piece: PieceName, runtimeDir: string): string[] | undefined {
  switch (piece) {
    case 'kafka':
      return ['kafka.Kafka', join(runtimeDir, 'kafka', 'server.properties')];
    case 'schema-registry':
      return [`-Dvigil.stack.dir=${runtimeDir}`];
    case 'smtp':
      return ['smtp-sink.ts', join(runtimeDir, 'mail')];
    case 'redis':
      return undefined;
  }
}

/** Stops every stray of `piece` except `keep`; a stray Kafka would otherwise share (and wreck) the data dir. */
async function stopStrays(piece: PieceName, runtimeDir: string, log: (line: string) => void, keep?: number): Promise<number[]> {
  const needles = strayNeedles(piece, runtimeDir);
  if (needles === undefined) return [];
  const strays = pidsWithCommandLine(needles).filter((p) => p !== keep);
  await Promise.all(
    strays.map(async (pid) => {
      log(`${piece}: stopping stray pid ${pid} (a process of this stack that state.json did not record)`);
      await stopProcess(pid, piece === 'kafka' ? 30_000 : 15_000);
    }),
  );
  return strays;
}

function logger(opts: StackOptions): (line: string) => void {
  if (opts.quiet) return () => {};
  return opts.log ?? ((line) => process.stderr.write(`stack: ${line}\n`));
}

/** Starts (or reuses) every piece; resolves to their endpoints, also written to <runtimeDir>/endpoints.json. */
export async function ensureStack(opts: StackOptions = {}): Promise<StackEndpoints> {
  const config = loadStackConfig(opts.env);
  const log = logger(opts);
  const started = Date.now();
  return withStackLock(config.runtimeDir, config.startTimeoutMs * 2, async () => {
    const logsDir = join(config.runtimeDir, 'logs');
    mkdirSync(logsDir, { recursive: true });
    const previous = readState(config.runtimeDir);
    const ctx: PieceContext = { config, log, logsDir, claimPort: portClaimer() };
    let runtimes: JavaRuntime[] | undefined;
    const java = (): JavaRuntime[] => (runtimes ??= javaRuntimes(config));

    const tasks: Record<PieceName, () => Promise<PieceRecord>> = {
      kafka: () => ensureKafka(ctx, previous.kafka, java),
      'schema-registry': () => ensureRegistry(ctx, previous['schema-registry'], java),
      redis: () => ensureRedis(ctx, previous.redis),
      smtp: () => ensureSmtp(ctx, previous.smtp),
    };
    const results = await Promise.allSettled(PIECES.map((p) => tasks[p]()));
    const state: StackState = {};
    const errors: Error[] = [];
    results.forEach((r, i) => {
      const piece = PIECES[i] as PieceName;
      if (r.status === 'fulfilled') state[piece] = r.value;
      else {
        errors.push(r.reason as Error);
        // keep a record of a process we may have left running, so `down` still finds it
        if (previous[piece]?.managed && isAlive(previous[piece]?.pid)) state[piece] = previous[piece];
      }
    });
    writeState(config.runtimeDir, state);
    if (errors.length > 0) {
      const first = errors[0] as Error;
      if (errors.length > 1) first.message += `\n(also: ${errors.slice(1).map((e) => e.message.split('\n')[0]).join('; ')})`;
      throw first;
    }
    const endpoints = endpointsOf(config, state);
    writeJsonAtomic(join(config.runtimeDir, 'endpoints.json'), endpoints);
    log(`up in ${((Date.now() - started) / 1000).toFixed(1)} s: kafka ${endpoints.kafkaBrokers}, registry ${endpoints.schemaRegistryUrl}, redis ${endpoints.redisUrl}, smtp ${endpoints.smtpUrl}`);
    return endpoints;
  });
}

/** Stops every process `ensureStack` started (SIGTERM, then SIGKILL) and removes the runtime dir. */
export async function stopStack(opts: StackOptions = {}): Promise<{ stopped: PieceName[]; killed: PieceName[] }> {
  const config = loadStackConfig(opts.env);
  const log = logger(opts);
  return withStackLock(config.runtimeDir, 60_000, async () => {
    const state = readState(config.runtimeDir);
    const stopped: PieceName[] = [];
    const killed: PieceName[] = [];
    await Promise.all(
      PIECES.map(async (piece) => {
        const rec = state[piece];
        if (!ours(rec)) return;
        log(`${piece}: stopping pid ${String(rec.pid)}`);
        const wasKilled = await stopProcess(rec.pid as number, piece === 'kafka' ? 30_000 : 15_000);
        if (wasKilled) killed.push(piece);
        if (rec.pendingArchive !== undefined) publishArchive(rec.pendingArchive, !wasKilled);
        stopped.push(piece);
      }),
    );
    for (const piece of PIECES) {
      if ((await stopStrays(piece, config.runtimeDir, log, state[piece]?.pid)).length > 0 && !stopped.includes(piece)) stopped.push(piece);
    }
    rmSync(config.runtimeDir, { recursive: true, force: true });
    log(`down: stopped ${stopped.length === 0 ? 'nothing' : stopped.join(', ')}${killed.length > 0 ? ` (killed: ${killed.join(', ')})` : ''}; removed ${config.runtimeDir}`);
    return { stopped, killed };
  });
}

/** What runs where, checked now (pids and health). */
export async function stackStatus(opts: StackOptions = {}): Promise<PieceStatus[]> {
  const config = loadStackConfig(opts.env);
  const state = readState(config.runtimeDir);
  return Promise.all(
    PIECES.map(async (piece): Promise<PieceStatus> => {
      const rec = state[piece];
      const base = { piece, address: rec?.address, pid: rec?.managed ? rec.pid : undefined, logPath: rec?.logPath, ports: rec?.ports, detail: rec?.detail };
      if (rec === undefined) return { ...base, state: 'stopped' };
      const healthy = await checkHealth(piece, rec.address);
      if (!rec.managed) return { ...base, state: healthy ? 'external' : 'unreachable' };
      if (!ours(rec)) return { ...base, state: 'stopped' };
      return { ...base, state: healthy ? 'running' : 'unhealthy' };
    }),
  );
}

/** The endpoints of a running stack as recorded by the last `up` (for processes that did not start it). */
export function endpointsOf(config: StackConfig, state: StackState): StackEndpoints {
  const need = (p: PieceName): string => {
    const a = state[p]?.address;
    if (a === undefined) throw new StackPieceError(p, 'not started: run `npm run stack:up`');
    return a;
  };
  return {
    kafkaBrokers: need('kafka'),
    schemaRegistryUrl: need('schema-registry'),
    redisUrl: need('redis'),
    smtpUrl: need('smtp'),
    mailDir: state.smtp?.managed ? join(config.runtimeDir, 'mail') : (config.overrides.mailDir ?? ''),
  };
}

/** VIGIL_JAVA_HOME alone when set (both JVMs then use it), else every runtime found, the default first. */
function javaRuntimes(config: StackConfig): JavaRuntime[] {
  if (config.javaHome === undefined) return findJavaRuntimes(config.javaHomeEnv, config.childEnv['PATH'] ?? '');
  const only = javaAt(config.javaHome);
  if (only === undefined) throw new StackConfigError(`VIGIL_JAVA_HOME=${config.javaHome} has no bin/java whose version can be read`);
  return [only];
}

function ours(rec: PieceRecord | undefined): rec is PieceRecord & { pid: number } {
  return rec !== undefined && rec.managed && rec.pid !== undefined && isAlive(rec.pid) && commandLine(rec.pid).includes(MARKERS[rec.piece]);
}

async function checkHealth(piece: PieceName, address: string): Promise<boolean> {
  switch (piece) {
    case 'kafka':
      return kafkaHealthy(address);
    case 'schema-registry':
      return registryHealthy(address);
    case 'redis':
      return redisAnswers(address);
    case 'smtp': {
      const { host, port } = urlHostPort(new URL(address));
      return smtpAnswers(host, port);
    }
  }
}

/** Reuses a healthy process of ours; stops one that runs but does not answer; else starts anew. */
async function reuseOrStart(ctx: PieceContext, piece: PieceName, rec: PieceRecord | undefined, start: () => Promise<PieceRecord>): Promise<PieceRecord> {
  if (ours(rec)) {
    if (await checkHealth(piece, rec.address)) {
      ctx.log(`${piece}: already running at ${rec.address} (pid ${rec.pid})`);
      return rec;
    }
    ctx.log(`${piece}: pid ${rec.pid} runs but does not answer at ${rec.address}; restarting it`);
    await stopProcess(rec.pid, 15_000);
  }
  await stopStrays(piece, ctx.config.runtimeDir, ctx.log);
  return timed(ctx, piece, start);
}

async function timed(ctx: PieceContext, piece: PieceName, start: () => Promise<PieceRecord>): Promise<PieceRecord> {
  const t0 = Date.now();
  const rec = await start();
  ctx.log(`${piece}: ready at ${rec.address} (pid ${String(rec.pid)}) after ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  return rec;
}

/**
 * A piece given by an env override: checked, not started (and a process of ours from before is stopped).
 * An override naming the very address of the piece this stack runs (the `export …` lines `up` prints) is
 * that piece: it stays, still ours, so `down` stops it.
 */
async function external(piece: PieceName, variable: string, address: string, ok: Promise<boolean>, ctx: PieceContext, rec: PieceRecord | undefined): Promise<PieceRecord> {
  if (ours(rec) && rec.address === address && (await ok)) {
    ctx.log(`${piece}: ${variable} names the ${piece} this stack runs (pid ${rec.pid}); keeping it`);
    return rec;
  }
  if (ours(rec)) {
    ctx.log(`${piece}: ${variable} is set now; stopping the ${piece} the stack started before (pid ${rec.pid})`);
    await stopProcess(rec.pid, 15_000);
  }
  if (!(await ok)) throw new StackPieceError(piece, `${variable}=${address} is set, but nothing answers there (the stack does not start ${piece} when ${variable} is set)`);
  ctx.log(`${piece}: using ${address} from ${variable}`);
  return { piece, managed: false, address, detail: `from ${variable}` };
}

async function ensureKafka(ctx: PieceContext, rec: PieceRecord | undefined, java: () => JavaRuntime[]): Promise<PieceRecord> {
  const brokers = ctx.config.overrides.kafkaBrokers;
  if (brokers !== undefined) {
    const normalized = parseBrokers(brokers).map((b) => `${b.host}:${b.port}`).join(',');
    return external('kafka', 'KAFKA_BROKERS', normalized, kafkaHealthy(normalized, 5000), ctx, rec);
  }
  return reuseOrStart(ctx, 'kafka', rec, async () => {
    const runtime = pickJava(java(), 17);
    if (runtime === undefined) throw new StackPieceError('kafka', 'Kafka 4 needs Java 17 or newer; none found (set VIGIL_JAVA_HOME or install openjdk-17-jre-headless)');
    return startKafka(ctx, runtime);
  });
}

async function ensureRegistry(ctx: PieceContext, rec: PieceRecord | undefined, java: () => JavaRuntime[]): Promise<PieceRecord> {
  const url = ctx.config.overrides.schemaRegistryUrl;
  if (url !== undefined) return external('schema-registry', 'SCHEMA_REGISTRY_URL', url, registryHealthy(url, 5000), ctx, rec);
  return reuseOrStart(ctx, 'schema-registry', rec, async () => {
    const java21 = pickJava(java(), 21, true);
    const version = ctx.config.apicurioVersion ?? (java21 !== undefined ? APICURIO_FOR_JAVA21 : APICURIO_FOR_JAVA17);
    const needs = /^3\.0\./.test(version) ? 17 : 21;
    const runtime = needs === 21 ? java21 : pickJava(java(), 17, true);
    if (runtime === undefined) {
      throw new StackPieceError('schema-registry', `Apicurio Registry ${version} needs Java ${needs} or newer; none found (set VIGIL_JAVA_HOME, or VIGIL_APICURIO_VERSION=${APICURIO_FOR_JAVA17} for Java 17)`);
    }
    return startSchemaRegistry(ctx, runtime, version);
  });
}

async function ensureRedis(ctx: PieceContext, rec: PieceRecord | undefined): Promise<PieceRecord> {
  const url = ctx.config.overrides.redisUrl;
  if (url !== undefined) return external('redis', 'REDIS_URL', url, redisAnswers(url, 3000), ctx, rec);
  if (ours(rec)) return reuseOrStart(ctx, 'redis', rec, () => startRedis(ctx));
  if (await redisAnswers(DEFAULT_REDIS_URL)) {
    ctx.log(`redis: using the Redis at ${DEFAULT_REDIS_URL}`);
    return { piece: 'redis', managed: false, address: DEFAULT_REDIS_URL, detail: 'the machine\'s Redis (default address)' };
  }
  return timed(ctx, 'redis', () => startRedis(ctx));
}

async function ensureSmtp(ctx: PieceContext, rec: PieceRecord | undefined): Promise<PieceRecord> {
  const url = ctx.config.overrides.smtpUrl;
  if (url !== undefined) {
    const { host, port } = urlHostPort(new URL(url));
    return external('smtp', 'SMTP_URL', url, smtpAnswers(host, port, 3000), ctx, rec);
  }
  return reuseOrStart(ctx, 'smtp', rec, () => startSmtp(ctx));
}
