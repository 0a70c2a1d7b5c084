import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { StackConfigError } from './stack-errors.ts';

/**
 * The local stack's settings, read once from the environment (the only place in scripts/stack that reads
 * process.env). Every service can point at existing infrastructure instead of being started:
 * KAFKA_BROKERS, SCHEMA_REGISTRY_URL, REDIS_URL, SMTP_URL (+ VIGIL_MAIL_DIR to read the sink's mail).
 * A malformed value is refused with a StackConfigError naming the variable and the value.
 */
export interface StackConfig {
  /** The repository root (scripts/stack/../..). */
  readonly repoDir: string;
  /** Runtime state: pids, logs, data, ports, endpoints.json, mail. `VIGIL_STACK_DIR`, default <repo>/.vigil/stack. */
  readonly runtimeDir: string;
  /** Downloads and extracted jars, shared by clones. `VIGIL_CACHE_DIR`, default ~/.cache/vigil. */
  readonly cacheDir: string;
  readonly kafkaVersion: string;
  /** Apicurio version to run, or undefined to choose by the Java found (3.3.x needs Java 21+). */
  readonly apicurioVersion: string | undefined;
  /** `VIGIL_JAVA_HOME`: a JDK to use for both JVMs instead of searching for one. */
  readonly javaHome: string | undefined;
  /** `JAVA_HOME`, searched after VIGIL_JAVA_HOME. */
  readonly javaHomeEnv: string | undefined;
  /** The environment handed to the processes we start (PATH lookups, MAVEN_OPTS…). */
  readonly childEnv: Readonly<NodeJS.ProcessEnv>;
  readonly overrides: {
    readonly kafkaBrokers: string | undefined;
    readonly schemaRegistryUrl: string | undefined;
    readonly redisUrl: string | undefined;
    readonly smtpUrl: string | undefined;
    readonly mailDir: string | undefined;
  };
  /** How long a piece may take to become ready, ms (`VIGIL_STACK_TIMEOUT_MS`, default 180000). */
  readonly startTimeoutMs: number;
}

/** The Redis used when REDIS_URL is unset, if it answers PING. */
export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';
export const DEFAULT_KAFKA_VERSION = '4.4.0';

const here = dirname(fileURLToPath(import.meta.url));

/** Reads and validates the stack's settings from `env` (process.env by default). */
export function loadStackConfig(env: NodeJS.ProcessEnv = process.env): StackConfig {
  const repoDir = resolve(here, '..', '..');
  const get = (name: string): string | undefined => {
    const v = env[name];
    return v === undefined || v.trim() === '' ? undefined : v.trim();
  };
  const kafkaBrokers = get('KAFKA_BROKERS');
  if (kafkaBrokers !== undefined) parseBrokers(kafkaBrokers);
  const schemaRegistryUrl = get('SCHEMA_REGISTRY_URL');
  if (schemaRegistryUrl !== undefined) parseUrl('SCHEMA_REGISTRY_URL', schemaRegistryUrl, ['http:', 'https:']);
  const redisUrl = get('REDIS_URL');
  if (redisUrl !== undefined) parseUrl('REDIS_URL', redisUrl, ['redis:', 'rediss:']);
  const smtpUrl = get('SMTP_URL');
  if (smtpUrl !== undefined) parseUrl('SMTP_URL', smtpUrl, ['smtp:', 'smtps:']);
  const kafkaVersion = get('VIGIL_KAFKA_VERSION') ?? DEFAULT_KAFKA_VERSION;
  if (!/^4\.\d+\.\d+$/.test(kafkaVersion)) {
    throw new StackConfigError(`VIGIL_KAFKA_VERSION must be a Kafka 4.x version like 4.4.0, got "${kafkaVersion}"`);
  }
  const apicurioVersion = get('VIGIL_APICURIO_VERSION');
  if (apicurioVersion !== undefined && !/^3\.\d+\.\d+$/.test(apicurioVersion)) {
    throw new StackConfigError(`VIGIL_APICURIO_VERSION must be an Apicurio 3.x version like 3.3.3, got "${apicurioVersion}"`);
  }
  const timeoutRaw = get('VIGIL_STACK_TIMEOUT_MS') ?? '180000';
  const startTimeoutMs = Number(timeoutRaw);
  if (!Number.isInteger(startTimeoutMs) || startTimeoutMs < 1000) {
    throw new StackConfigError(`VIGIL_STACK_TIMEOUT_MS must be an integer of at least 1000, got "${timeoutRaw}"`);
  }
  return Object.freeze({
    repoDir,
    runtimeDir: resolve(get('VIGIL_STACK_DIR') ?? join(repoDir, '.vigil', 'stack')),
    cacheDir: resolve(get('VIGIL_CACHE_DIR') ?? join(homedir(), '.cache', 'vigil')),
    kafkaVersion,
    apicurioVersion,
    javaHome: get('VIGIL_JAVA_HOME'),
    javaHomeEnv: get('JAVA_HOME'),
    childEnv: Object.freeze({ ...env }),
    overrides: Object.freeze({
      kafkaBrokers,
      schemaRegistryUrl,
      redisUrl,
      smtpUrl,
      mailDir: get('VIGIL_MAIL_DIR') === undefined ? undefined : resolve(get('VIGIL_MAIL_DIR') as string),
    }),
    startTimeoutMs,
  });
}

/** A host and port, as parsed from a broker list or URL. */
export interface HostPort {
  readonly host: string;
  readonly port: number;
}

/** Parses a comma-separated `host:port` list; throws a StackConfigError naming KAFKA_BROKERS. */
export function parseBrokers(value: string): HostPort[] {
  const parts = value.split(',').map((s) => s.trim());
  if (parts.length === 0 || parts.some((p) => p === '')) {
    throw new StackConfigError(`KAFKA_BROKERS must be a comma-separated list of host:port, got "${value}"`);
  }
  return parts.map((p) => {
    const m = /^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(p);
    const port = m ? Number(m[2]) : NaN;
    if (!m || port < 1 || port > 65535) {
      throw new StackConfigError(
        `KAFKA_BROKERS must be a comma-separated list of host:port (port 1-65535), got "${value}" ("${p}" is not host:port)`,
      );
    }
    return { host: (m[1] as string).replace(/^\[|\]$/g, ''), port };
  });
}

/** Parses a URL of one of `protocols`; throws a StackConfigError naming `name` and the value. */
export function parseUrl(name: string, value: string, protocols: readonly string[]): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new StackConfigError(`${name} must be a URL like ${protocols[0]}//host:port, got "${value}"`);
  }
  if (!protocols.includes(url.protocol)) {
    throw new StackConfigError(`${name} must use ${protocols.join(' or ')}, got "${value}"`);
  }
  if (url.hostname === '') throw new StackConfigError(`${name} has no host: "${value}"`);
  return url;
}

/** The port of a URL, with the protocol's default when it has none. */
export function urlHostPort(url: URL): HostPort {
  const defaults: Record<string, number> = { 'http:': 80, 'https:': 443, 'redis:': 6379, 'rediss:': 6379, 'smtp:': 25, 'smtps:': 465 };
  const port = url.port === '' ? (defaults[url.protocol] ?? 0) : Number(url.port);
  return { host: url.hostname.replace(/^\[|\]$/g, ''), port };
}
