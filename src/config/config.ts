import { accessSync, constants } from 'node:fs';
import { BREAKER_SCOPES, type BreakerScope } from '@vigil/breaker-client/protocol';
import { ConfigError } from '../errors/vigil-error.ts';
import { redactSecrets as redact } from '../observability/redact.ts';
import { deepFreeze, readConfigFile, readSecretFile, type FileValues } from './config-file.ts';
import type { Config, HttpFailMode } from './config-shape.ts';

/**
 * loadConfig: the one place vigil reads its settings (env, then the VIGIL_CONFIG file, then defaults),
 * into the frozen Config of config-shape.ts; config-file.ts reads the file and the secret files.
 */
export type { Config, HttpFailMode };

type Source = { value: string; from: string };

/**
 * Every setting: dotted path, env var, default. The README's configuration table mirrors this. A
 * `secret` setting can also be read from a file: env `<NAME>_FILE`, or `<path>File` in the config file
 * (a mounted secret); its value is never logged nor put in an error message.
 */
export const SETTINGS = {
  env: { env: 'VIGIL_ENV', def: 'local' },
  logLevel: { env: 'VIGIL_LOG_LEVEL', def: 'info' },
  'kafka.brokers': { env: 'KAFKA_BROKERS', def: '127.0.0.1:19092' },
  'kafka.clientId': { env: 'KAFKA_CLIENT_ID', def: 'vigil' },
  'kafka.groupId': { env: 'KAFKA_GROUP_ID', def: 'vigil-monitor' },
  'kafka.topics.actions': { env: 'VIGIL_TOPIC_ACTIONS', def: 'agent.actions' },
  'kafka.topics.dlq': { env: 'VIGIL_TOPIC_DLQ', def: 'agent.actions.dlq' },
  'kafka.topics.findings': { env: 'VIGIL_TOPIC_FINDINGS', def: 'safety.findings' },
  'kafka.topics.breakerTransitions': { env: 'VIGIL_TOPIC_BREAKER_TRANSITIONS', def: 'safety.breaker-transitions' },
  'kafka.topics.compensations': { env: 'VIGIL_TOPIC_COMPENSATIONS', def: 'safety.compensations' },
  'kafka.maxEventBytes': { env: 'VIGIL_MAX_EVENT_BYTES', def: '65536' },
  'kafka.sessionTimeoutMs': { env: 'KAFKA_SESSION_TIMEOUT_MS', def: '30000' },
  'kafka.stallTimeoutMs': { env: 'VIGIL_STALL_TIMEOUT_MS', def: '60000' },
  'kafka.partitions': { env: 'VIGIL_PARTITIONS', def: '6' },
  'kafka.batchMaxAttempts': { env: 'VIGIL_BATCH_MAX_ATTEMPTS', def: '3' },
  'kafka.poisonLimit': { env: 'VIGIL_POISON_LIMIT', def: '10' },
  'kafka.partitionsConcurrently': { env: 'VIGIL_PARTITIONS_CONCURRENTLY', def: '3' },
  'kafka.ssl': { env: 'KAFKA_SSL', def: 'false' },
  'kafka.tls.caFile': { env: 'KAFKA_TLS_CA_FILE', def: '' },
  'kafka.tls.certFile': { env: 'KAFKA_TLS_CERT_FILE', def: '' },
  'kafka.tls.keyFile': { env: 'KAFKA_TLS_KEY_FILE', def: '' },
  'kafka.sasl.mechanism': { env: 'KAFKA_SASL_MECHANISM', def: '' },
  'kafka.sasl.username': { env: 'KAFKA_SASL_USERNAME', def: '' },
  'kafka.sasl.password': { env: 'KAFKA_SASL_PASSWORD', def: '', secret: true },
  'schemaRegistry.url': { env: 'SCHEMA_REGISTRY_URL', def: '' },
  'schemaRegistry.username': { env: 'SCHEMA_REGISTRY_USERNAME', def: '' },
  'schemaRegistry.password': { env: 'SCHEMA_REGISTRY_PASSWORD', def: '', secret: true },
  'schemaRegistry.caFile': { env: 'SCHEMA_REGISTRY_CA_FILE', def: '' },
  'redis.url': { env: 'REDIS_URL', def: 'redis://127.0.0.1:6379' },
  'redis.cluster': { env: 'REDIS_CLUSTER', def: 'false' },
  'redis.keyPrefix': { env: 'VIGIL_REDIS_PREFIX', def: 'vigil' },
  'redis.dedupeTtlSeconds': { env: 'VIGIL_DEDUPE_TTL_SECONDS', def: '604800' },
  'redis.username': { env: 'REDIS_USERNAME', def: '' },
  'redis.password': { env: 'REDIS_PASSWORD', def: '', secret: true },
  'redis.tlsCaFile': { env: 'REDIS_TLS_CA_FILE', def: '' },
  'smtp.url': { env: 'SMTP_URL', def: '' },
  'smtp.from': { env: 'VIGIL_MAIL_FROM', def: 'vigil@localhost' },
  'smtp.to': { env: 'VIGIL_ONCALL_TO', def: 'oncall@localhost' },
  'smtp.recipients': { env: 'VIGIL_MAIL_RECIPIENTS', def: '' },
  'smtp.timeoutMs': { env: 'VIGIL_SMTP_TIMEOUT_MS', def: '10000' },
  'notify.runbookBaseUrl': { env: 'VIGIL_RUNBOOK_BASE_URL', def: '' },
  'notify.dashboardUrl': { env: 'VIGIL_DASHBOARD_URL', def: '' },
  'notify.alertmanagerUrls': { env: 'VIGIL_ALERTMANAGER_URLS', def: '' },
  'notify.pollMs': { env: 'VIGIL_NOTIFY_POLL_MS', def: '1000' },
  'compensation.webhooks': { env: 'VIGIL_COMPENSATION_WEBHOOKS', def: '' },
  'compensation.webhookTimeoutMs': { env: 'VIGIL_COMPENSATION_WEBHOOK_TIMEOUT_MS', def: '5000' },
  'compensation.leaseMs': { env: 'VIGIL_COMPENSATION_LEASE_MS', def: '15000' },
  'compensation.batchSize': { env: 'VIGIL_COMPENSATION_BATCH', def: '50' },
  'http.host': { env: 'VIGIL_HTTP_HOST', def: '127.0.0.1' },
  'http.port': { env: 'VIGIL_HTTP_PORT', def: '8088' },
  'http.adminToken': { env: 'VIGIL_ADMIN_TOKEN', def: '', secret: true },
  'http.clientToken': { env: 'VIGIL_CLIENT_TOKEN', def: '', secret: true },
  'http.failMode': { env: 'VIGIL_HTTP_FAIL_MODE', def: 'closed' },
  'http.adminRatePerMinute': { env: 'VIGIL_ADMIN_RATE_PER_MINUTE', def: '30' },
  'http.adminBurst': { env: 'VIGIL_ADMIN_BURST', def: '10' },
  'http.adminWriteDeadlineMs': { env: 'VIGIL_ADMIN_WRITE_DEADLINE_MS', def: '5000' },
  'metrics.host': { env: 'VIGIL_METRICS_HOST', def: '127.0.0.1' },
  'metrics.port': { env: 'VIGIL_METRICS_PORT', def: '9464' },
  'metrics.lagIntervalMs': { env: 'VIGIL_LAG_INTERVAL_MS', def: '15000' },
  'metrics.breakerMaxAgeMs': { env: 'VIGIL_BREAKER_METRICS_MAX_AGE_MS', def: '30000' },
  'metrics.breakerScanLimit': { env: 'VIGIL_BREAKER_METRICS_SCAN_LIMIT', def: '100000' },
  'metrics.breakerTopN': { env: 'VIGIL_BREAKER_METRICS_TOP_N', def: '20' },
  'metrics.dependencyProbeMs': { env: 'VIGIL_DEPENDENCY_PROBE_MS', def: '5000' },
  'tracing.enabled': { env: 'VIGIL_TRACING_ENABLED', def: 'false' },
  'tracing.endpoint': { env: 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', def: 'http://127.0.0.1:4318/v1/traces' },
  'tracing.protocol': { env: 'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL', def: 'http/protobuf' },
  'tracing.serviceName': { env: 'OTEL_SERVICE_NAME', def: 'vigil' },
  'tracing.sampleRatio': { env: 'VIGIL_TRACING_SAMPLE_RATIO', def: '1' },
  policyPath: { env: 'VIGIL_POLICY', def: 'vigil.policy.yaml' },
  'detection.idlePartitionMs': { env: 'VIGIL_IDLE_PARTITION_MS', def: '30000' },
  'detection.tickMs': { env: 'VIGIL_WATERMARK_TICK_MS', def: '1000' },
  'detection.stallLogMs': { env: 'VIGIL_WATERMARK_STALL_LOG_MS', def: '60000' },
} as const satisfies Record<string, { env: string; def: string; secret?: true }>;

type Key = keyof typeof SETTINGS;

/**
 * Parses configuration from an environment (default process.env) and the optional file it names.
 * @throws ConfigError naming the bad value and its source, with any credentials in it masked.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, overrides: Partial<Record<Key, string>> = {}): Config {
  try {
    return load(env, overrides);
  } catch (e) {
    if (e instanceof ConfigError) throw new ConfigError(redact(e.message));
    throw e;
  }
}

function load(env: NodeJS.ProcessEnv, overrides: Partial<Record<Key, string>>): Config {
  const filePath = env.VIGIL_CONFIG;
  const file = filePath ? readConfigFile(filePath, (k) => k in SETTINGS || isSecretFileKey(k), Object.keys(SETTINGS)) : {};
  const get = (k: Key): Source => {
    const s = SETTINGS[k];
    if (overrides[k] !== undefined) return { value: overrides[k]!, from: `option ${k}` };
    const e = env[s.env];
    const secret = 'secret' in s;
    const fromFile = secret ? env[`${s.env}_FILE`] : undefined;
    if (e !== undefined && e !== '') {
      if (fromFile) throw new ConfigError(`env ${s.env} and env ${s.env}_FILE are both set: give one`);
      return { value: e, from: `env ${s.env}` };
    }
    if (fromFile) return { value: readSecretFile(fromFile, `env ${s.env}_FILE`), from: `env ${s.env}_FILE (${redact(fromFile)})` };
    if (file[k] !== undefined && file[k] !== null) {
      const v = file[k];
      return { value: Array.isArray(v) ? v.join(',') : String(v), from: `${filePath}: ${k}` };
    }
    const fileKey = `${k}File`;
    if (secret && typeof file[fileKey] === 'string') return { value: readSecretFile(file[fileKey] as string, `${filePath}: ${fileKey}`), from: `${filePath}: ${fileKey}` };
    return { value: s.def, from: `default of ${k}` };
  };
  const text = (k: Key) => get(k).value;
  const opt = (k: Key) => get(k).value || undefined;
  const int = (k: Key, min: number, max: number): number => {
    const { value, from } = get(k);
    const n = Number(value);
    if (!/^-?\d+$/.test(value.trim()) || n < min || n > max) {
      throw new ConfigError(`${from}: "${value}" must be a whole number from ${min} to ${max}`);
    }
    return n;
  };
  const bool = (k: Key): boolean => {
    const { value, from } = get(k);
    if (/^(true|1|yes)$/i.test(value)) return true;
    if (/^(false|0|no)$/i.test(value)) return false;
    throw new ConfigError(`${from}: "${value}" must be true or false`);
  };
  const ratio = (k: Key): number => {
    const { value, from } = get(k);
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n) || n < 0 || n > 1) throw new ConfigError(`${from}: "${value}" must be a number from 0 to 1`);
    return n;
  };
  const list = (k: Key): string[] => text(k).split(',').map((s) => s.trim()).filter(Boolean);
  const oneOf = <T extends string>(k: Key, allowed: readonly T[]): T => {
    const { value, from } = get(k);
    if (!(allowed as readonly string[]).includes(value)) throw new ConfigError(`${from}: "${value}" must be one of ${allowed.join(', ')}`);
    return value as T;
  };
  const url = (k: Key, protocols: string[]): string | undefined => {
    const { value, from } = get(k);
    if (!value) return undefined;
    for (const part of value.split(',')) {
      let p: URL;
      try {
        p = new URL(part.trim());
      } catch {
        throw new ConfigError(`${from}: "${redact(part)}" is not a URL`);
      }
      if (!protocols.includes(p.protocol)) throw new ConfigError(`${from}: "${redact(part)}" must use ${protocols.join(' or ')}`);
    }
    return value;
  };

  const address = (k: Key, a: string): string => {
    if (!EMAIL_ADDRESS.test(a)) throw new ConfigError(`${get(k).from}: "${a}" is not an e-mail address (local@domain, no spaces, quotes, angle brackets or line breaks)`);
    return a;
  };
  const addresses = (k: Key, text: string): string[] => text.split(/[\s,]+/).filter(Boolean).map((a) => address(k, a));
  const groups = (k: Key): Record<string, string[]> => {
    const out: Record<string, string[]> = {};
    for (const part of text(k).split(';').map((p) => p.trim()).filter(Boolean)) {
      const m = /^([A-Za-z0-9_.-]+)\s*=\s*(.*)$/s.exec(part);
      if (!m) throw new ConfigError(`${get(k).from}: "${part}" must be name=address [address…] (groups separated by ;)`);
      const list = addresses(k, m[2]!);
      if (list.length === 0) throw new ConfigError(`${get(k).from}: group "${m[1]}" has no address`);
      out[m[1]!] = list;
    }
    return out;
  };
  const webhooks = (k: Key): Record<string, string> => {
    const out: Record<string, string> = {};
    for (const part of text(k).split(/[,;]/).map((p) => p.trim()).filter(Boolean)) {
      const at = part.indexOf('=');
      const vendor = part.slice(0, at).trim();
      const target = part.slice(at + 1).trim();
      if (at <= 0 || !/^[^\s{}=]{1,200}$/u.test(vendor)) throw new ConfigError(`${get(k).from}: "${part}" must be vendor=URL`);
      let u: URL;
      try {
        u = new URL(target);
      } catch {
        throw new ConfigError(`${get(k).from}: "${target}" (vendor ${vendor}) is not a URL`);
      }
      if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new ConfigError(`${get(k).from}: "${target}" (vendor ${vendor}) must use http: or https:`);
      out[vendor] = target;
    }
    return out;
  };
  const baseUrl = (k: Key): string => {
    const v = text(k).trim();
    if (v === '') return '';
    url(k, ['http:', 'https:']);
    return v.replace(/\/+$/, '');
  };

  /** A readable file's path, or undefined when the setting is empty. */
  const readable = (k: Key): string | undefined => {
    const { value, from } = get(k);
    if (!value) return undefined;
    try {
      accessSync(value, constants.R_OK);
    } catch (e) {
      throw new ConfigError(`${from}: cannot read "${redact(value)}": ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    return value;
  };

  const failMode = (k: Key): HttpFailMode => {
    const { value, from } = get(k);
    const bad = (why = '') =>
      new ConfigError(`${from}: "${value}" must be open or closed, then optional scope=open|closed overrides, e.g. "open,vendor=closed"${why}`);
    const [first, ...rest] = value.split(',').map((p) => p.trim());
    if (first !== 'open' && first !== 'closed') throw bad();
    const perScope: Partial<Record<BreakerScope, 'open' | 'closed'>> = {};
    for (const part of rest) {
      const m = /^([a-z]+)=(open|closed)$/.exec(part);
      if (!m) throw bad();
      const scope = m[1] as BreakerScope;
      if (!(BREAKER_SCOPES as readonly string[]).includes(scope)) throw bad(` (unknown scope "${m[1]}")`);
      if (perScope[scope] !== undefined) throw bad(` (${scope} given twice)`);
      perScope[scope] = m[2] as 'open' | 'closed';
    }
    return { default: first, perScope };
  };

  const adminToken = opt('http.adminToken');
  const clientToken = opt('http.clientToken');
  if (clientToken !== undefined && clientToken === adminToken) {
    throw new ConfigError(`${get('http.clientToken').from}: must differ from the admin token (http.adminToken): upstream services must not hold operator rights`);
  }

  const brokers = list('kafka.brokers');
  if (brokers.length === 0) throw new ConfigError(`${get('kafka.brokers').from}: at least one broker is required`);
  for (const b of brokers) {
    if (!/^[^\s:]+:\d{1,5}$/.test(b)) throw new ConfigError(`${get('kafka.brokers').from}: "${b}" must be host:port`);
  }

  const kafkaTls = { caFile: readable('kafka.tls.caFile'), certFile: readable('kafka.tls.certFile'), keyFile: readable('kafka.tls.keyFile') };
  if ((kafkaTls.certFile === undefined) !== (kafkaTls.keyFile === undefined)) {
    throw new ConfigError(`${get(kafkaTls.certFile ? 'kafka.tls.certFile' : 'kafka.tls.keyFile').from}: a client certificate needs its key (KAFKA_TLS_CERT_FILE and KAFKA_TLS_KEY_FILE go together)`);
  }
  const kafkaSasl = (): Config['kafka']['sasl'] => {
    const mechanism = get('kafka.sasl.mechanism').value.toLowerCase();
    const username = opt('kafka.sasl.username');
    const password = opt('kafka.sasl.password');
    if (!mechanism) {
      if (username || password) throw new ConfigError(`${get(username ? 'kafka.sasl.username' : 'kafka.sasl.password').from}: set KAFKA_SASL_MECHANISM (plain, scram-sha-256 or scram-sha-512) to use it`);
      return undefined;
    }
    const m = oneOf('kafka.sasl.mechanism', ['plain', 'scram-sha-256', 'scram-sha-512', 'PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512'] as const).toLowerCase() as 'plain' | 'scram-sha-256' | 'scram-sha-512';
    if (!username) throw new ConfigError(`${get('kafka.sasl.mechanism').from}: SASL ${m} needs a username (KAFKA_SASL_USERNAME)`);
    if (!password) throw new ConfigError(`${get('kafka.sasl.mechanism').from}: SASL ${m} needs a password (KAFKA_SASL_PASSWORD or KAFKA_SASL_PASSWORD_FILE)`);
    return { mechanism: m, username, password };
  };
  const registryAuth = (): Config['schemaRegistry']['auth'] => {
    const username = opt('schemaRegistry.username');
    const password = opt('schemaRegistry.password') ?? '';
    if (!username && password) throw new ConfigError(`${get('schemaRegistry.password').from}: a password needs SCHEMA_REGISTRY_USERNAME`);
    return username ? { username, password } : undefined;
  };

  const config: Config = {
    env: text('env'),
    logLevel: oneOf('logLevel', ['debug', 'info', 'warn', 'error'] as const),
    kafka: {
      brokers,
      clientId: text('kafka.clientId'),
      groupId: text('kafka.groupId'),
      topics: {
        actions: text('kafka.topics.actions'),
        dlq: text('kafka.topics.dlq'),
        findings: text('kafka.topics.findings'),
        breakerTransitions: text('kafka.topics.breakerTransitions'),
        compensations: text('kafka.topics.compensations'),
      },
      maxEventBytes: int('kafka.maxEventBytes', 256, 16 * 1024 * 1024),
      sessionTimeoutMs: int('kafka.sessionTimeoutMs', 6000, 300000),
      stallTimeoutMs: int('kafka.stallTimeoutMs', 1000, 3600000),
      partitions: int('kafka.partitions', 1, 1000),
      batchMaxAttempts: int('kafka.batchMaxAttempts', 1, 100),
      poisonLimit: int('kafka.poisonLimit', 0, 100000),
      partitionsConcurrently: int('kafka.partitionsConcurrently', 1, 64),
      ssl: kafkaTls.caFile !== undefined || kafkaTls.certFile !== undefined || bool('kafka.ssl'),
      tls: kafkaTls,
      sasl: kafkaSasl(),
    },
    schemaRegistry: { url: url('schemaRegistry.url', ['http:', 'https:']), auth: registryAuth(), caFile: readable('schemaRegistry.caFile') },
    redis: {
      url: url('redis.url', ['redis:', 'rediss:']) ?? 'redis://127.0.0.1:6379',
      cluster: bool('redis.cluster'),
      keyPrefix: text('redis.keyPrefix'),
      dedupeTtlSeconds: int('redis.dedupeTtlSeconds', 60, 90 * 86400),
      username: opt('redis.username'),
      password: opt('redis.password'),
      tlsCaFile: readable('redis.tlsCaFile'),
    },
    smtp: {
      url: url('smtp.url', ['smtp:', 'smtps:']),
      from: address('smtp.from', text('smtp.from').trim()),
      to: addresses('smtp.to', text('smtp.to')),
      recipients: groups('smtp.recipients'),
      timeoutMs: int('smtp.timeoutMs', 100, 300000),
    },
    notify: {
      runbookBaseUrl: baseUrl('notify.runbookBaseUrl'),
      dashboardUrl: baseUrl('notify.dashboardUrl'),
      alertmanagerUrls: (url('notify.alertmanagerUrls', ['http:', 'https:']) ?? '').split(',').map((u) => u.trim().replace(/\/+$/, '')).filter(Boolean),
      pollMs: int('notify.pollMs', 10, 60000),
    },
    compensation: {
      webhooks: webhooks('compensation.webhooks'),
      webhookTimeoutMs: int('compensation.webhookTimeoutMs', 100, 120000),
      leaseMs: int('compensation.leaseMs', 1000, 600000),
      batchSize: int('compensation.batchSize', 1, 1000),
    },
    http: {
      host: text('http.host'),
      port: int('http.port', 0, 65535),
      adminToken,
      clientToken,
      failMode: failMode('http.failMode'),
      adminRatePerMinute: int('http.adminRatePerMinute', 0, 100_000),
      adminBurst: int('http.adminBurst', 1, 100_000),
      adminWriteDeadlineMs: int('http.adminWriteDeadlineMs', 100, 120_000),
    },
    metrics: {
      host: text('metrics.host'),
      port: int('metrics.port', 0, 65535),
      lagIntervalMs: int('metrics.lagIntervalMs', 100, 3600000),
      breakerMaxAgeMs: int('metrics.breakerMaxAgeMs', 0, 3600000),
      breakerScanLimit: int('metrics.breakerScanLimit', 1, 100000000),
      breakerTopN: int('metrics.breakerTopN', 0, 1000),
      dependencyProbeMs: int('metrics.dependencyProbeMs', 100, 600_000),
    },
    tracing: {
      enabled: bool('tracing.enabled'),
      endpoint: url('tracing.endpoint', ['http:', 'https:']) ?? 'http://127.0.0.1:4318/v1/traces',
      protocol: oneOf('tracing.protocol', ['http/protobuf', 'http/json'] as const),
      serviceName: text('tracing.serviceName'),
      sampleRatio: ratio('tracing.sampleRatio'),
    },
    policyPath: text('policyPath'),
    detection: {
      idlePartitionMs: int('detection.idlePartitionMs', 100, 86_400_000),
      tickMs: int('detection.tickMs', 50, 60_000),
      stallLogMs: int('detection.stallLogMs', 1000, 86_400_000),
    },
  };
  return deepFreeze(config);
}

/** An address vigil will put in a header: local@domain, nothing that could start another header or address. */
const EMAIL_ADDRESS = /^[A-Za-z0-9.!#$%&'*+/=?^_`|~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*$/;

/** `<path>File` of a secret setting (a config-file key naming the file that holds it). */
function isSecretFileKey(k: string): boolean {
  if (!k.endsWith('File')) return false;
  const base = SETTINGS[k.slice(0, -4) as Key] as { secret?: true } | undefined;
  return base?.secret === true;
}

