import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from './config.ts';
import { ConfigError } from '../errors/vigil-error.ts';

const refused = (env: NodeJS.ProcessEnv): string => {
  try {
    loadConfig(env);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    expect((e as ConfigError).retriable).toBe(false);
    return (e as Error).message;
  }
  throw new Error('expected the config to be refused');
};

describe('loadConfig', () => {
  it('has working defaults and is frozen', () => {
    const c = loadConfig({});
    expect(c.kafka.brokers).toEqual(['127.0.0.1:19092']);
    expect(c.kafka.topics.actions).toBe('agent.actions');
    expect(c.kafka.topics.dlq).toBe('agent.actions.dlq');
    expect(c.schemaRegistry.url).toBeUndefined();
    expect(Object.isFrozen(c.kafka.topics)).toBe(true);
  });

  it('reads env vars, lists and numbers', () => {
    const c = loadConfig({ KAFKA_BROKERS: 'a:1, b:2', VIGIL_PARTITIONS: '12', REDIS_CLUSTER: 'yes', SCHEMA_REGISTRY_URL: 'http://r:8081/apis/ccompat/v7' });
    expect(c.kafka.brokers).toEqual(['a:1', 'b:2']);
    expect(c.kafka.partitions).toBe(12);
    expect(c.redis.cluster).toBe(true);
  });

  it('names the bad value and where it came from', () => {
    expect(refused({ VIGIL_PARTITIONS: 'many' })).toBe('env VIGIL_PARTITIONS: "many" must be a whole number from 1 to 1000');
    expect(refused({ VIGIL_PARTITIONS: '0' })).toMatch(/^env VIGIL_PARTITIONS: "0" must be/);
    expect(refused({ KAFKA_BROKERS: 'localhost' })).toBe('env KAFKA_BROKERS: "localhost" must be host:port');
    expect(refused({ REDIS_URL: 'http://x' })).toBe('env REDIS_URL: "http://x" must use redis: or rediss:');
    expect(refused({ SCHEMA_REGISTRY_URL: 'not a url' })).toBe('env SCHEMA_REGISTRY_URL: "not a url" is not a URL');
    expect(refused({ REDIS_CLUSTER: 'maybe' })).toBe('env REDIS_CLUSTER: "maybe" must be true or false');
    expect(refused({ VIGIL_LOG_LEVEL: 'loud' })).toBe('env VIGIL_LOG_LEVEL: "loud" must be one of debug, info, warn, error');
    expect(refused({ VIGIL_IDLE_PARTITION_MS: '30s' })).toBe('env VIGIL_IDLE_PARTITION_MS: "30s" must be a whole number from 100 to 86400000');
    expect(refused({ VIGIL_WATERMARK_TICK_MS: '0' })).toMatch(/^env VIGIL_WATERMARK_TICK_MS: "0" must be a whole number from 50/);
    expect(refused({ VIGIL_WATERMARK_STALL_LOG_MS: '-1' })).toMatch(/^env VIGIL_WATERMARK_STALL_LOG_MS: "-1" must be a whole number from 1000/);
  });

  it('reads the event-time settings of the live engine', () => {
    expect(loadConfig({}).detection).toEqual({ idlePartitionMs: 30_000, tickMs: 1000, stallLogMs: 60_000 });
    expect(loadConfig({ VIGIL_IDLE_PARTITION_MS: '5000', VIGIL_WATERMARK_TICK_MS: '250', VIGIL_WATERMARK_STALL_LOG_MS: '10000' }).detection).toEqual({ idlePartitionMs: 5000, tickMs: 250, stallLogMs: 10_000 });
  });

  it('reads the HTTP check fail mode: a default, then per-scope overrides', () => {
    expect(loadConfig({}).http.failMode).toEqual({ default: 'closed', perScope: {} });
    expect(loadConfig({ VIGIL_HTTP_FAIL_MODE: 'open' }).http.failMode).toEqual({ default: 'open', perScope: {} });
    expect(loadConfig({ VIGIL_HTTP_FAIL_MODE: 'open, vendor=closed,global=closed' }).http.failMode).toEqual({ default: 'open', perScope: { vendor: 'closed', global: 'closed' } });
    const hint = 'must be open or closed, then optional scope=open|closed overrides, e.g. "open,vendor=closed"';
    expect(refused({ VIGIL_HTTP_FAIL_MODE: 'opn' })).toBe(`env VIGIL_HTTP_FAIL_MODE: "opn" ${hint}`);
    expect(refused({ VIGIL_HTTP_FAIL_MODE: 'open,planet=closed' })).toBe(`env VIGIL_HTTP_FAIL_MODE: "open,planet=closed" ${hint} (unknown scope "planet")`);
    expect(refused({ VIGIL_HTTP_FAIL_MODE: 'open,vendor=ajar' })).toBe(`env VIGIL_HTTP_FAIL_MODE: "open,vendor=ajar" ${hint}`);
    expect(refused({ VIGIL_HTTP_FAIL_MODE: 'open,vendor=closed,vendor=open' })).toBe(`env VIGIL_HTTP_FAIL_MODE: "open,vendor=closed,vendor=open" ${hint} (vendor given twice)`);
  });

  it('reads the client token of the trial endpoint, which must differ from the admin token', () => {
    expect(loadConfig({}).http.clientToken).toBeUndefined();
    expect(loadConfig({ VIGIL_CLIENT_TOKEN: 'c-tok', VIGIL_ADMIN_TOKEN: 'a-tok' }).http.clientToken).toBe('c-tok');
    expect(refused({ VIGIL_CLIENT_TOKEN: 'same', VIGIL_ADMIN_TOKEN: 'same' })).toBe('env VIGIL_CLIENT_TOKEN: must differ from the admin token (http.adminToken): upstream services must not hold operator rights');
  });

  it('reads a YAML file, env winning over it, and refuses unknown settings and bad files', () => {
    const dir = mkdtempSync(join(tmpdir(), 'vigil-config-'));
    const good = join(dir, 'good.yaml');
    writeFileSync(good, 'kafka:\n  brokers: [k1:9092, k2:9092]\n  partitions: 3\nredis:\n  keyPrefix: prod\n');
    const c = loadConfig({ VIGIL_CONFIG: good, VIGIL_PARTITIONS: '4' });
    expect(c.kafka.brokers).toEqual(['k1:9092', 'k2:9092']);
    expect(c.kafka.partitions).toBe(4);
    expect(c.redis.keyPrefix).toBe('prod');

    const typo = join(dir, 'typo.yaml');
    writeFileSync(typo, 'kafka:\n  brokerz: k1:9092\n');
    expect(refused({ VIGIL_CONFIG: typo })).toMatch(/typo\.yaml: unknown setting "kafka\.brokerz"/);
    const wrong = join(dir, 'wrong.yaml');
    writeFileSync(wrong, 'kafka:\n  partitions: lots\n');
    expect(refused({ VIGIL_CONFIG: wrong })).toMatch(/wrong\.yaml: kafka\.partitions: "lots" must be a whole number/);
    const broken = join(dir, 'broken.yaml');
    writeFileSync(broken, 'kafka: [unclosed\n');
    expect(refused({ VIGIL_CONFIG: broken })).toMatch(/broken\.yaml is not valid YAML/);
    expect(refused({ VIGIL_CONFIG: join(dir, 'missing.yaml') })).toMatch(/missing\.yaml cannot be read/);
  });

  it('reads the observability settings, tracing off by default, and names a bad one', () => {
    const d = loadConfig({});
    expect(d.tracing).toEqual({ enabled: false, endpoint: 'http://127.0.0.1:4318/v1/traces', protocol: 'http/protobuf', serviceName: 'vigil', sampleRatio: 1 });
    expect(d.metrics).toMatchObject({ lagIntervalMs: 15000, breakerMaxAgeMs: 30000, breakerScanLimit: 100000, breakerTopN: 20 });
    const c = loadConfig({
      VIGIL_TRACING_ENABLED: 'true', OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://jaeger:4318/v1/traces', OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/json',
      OTEL_SERVICE_NAME: 'vigil-eu', VIGIL_TRACING_SAMPLE_RATIO: '0.25', VIGIL_LAG_INTERVAL_MS: '2000', VIGIL_BREAKER_METRICS_TOP_N: '5',
    });
    expect(c.tracing).toEqual({ enabled: true, endpoint: 'http://jaeger:4318/v1/traces', protocol: 'http/json', serviceName: 'vigil-eu', sampleRatio: 0.25 });
    expect(c.metrics.lagIntervalMs).toBe(2000);
    expect(c.metrics.breakerTopN).toBe(5);
    expect(refused({ OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'grpc' })).toBe('env OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: "grpc" must be one of http/protobuf, http/json');
    expect(refused({ VIGIL_TRACING_SAMPLE_RATIO: '1.5' })).toBe('env VIGIL_TRACING_SAMPLE_RATIO: "1.5" must be a number from 0 to 1');
    expect(refused({ VIGIL_TRACING_SAMPLE_RATIO: 'half' })).toMatch(/must be a number from 0 to 1/);
    expect(refused({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'jaeger:4318' })).toMatch(/^env OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "jaeger:4318" must use http: or https:|is not a URL/);
    expect(refused({ VIGIL_TRACING_ENABLED: 'maybe' })).toBe('env VIGIL_TRACING_ENABLED: "maybe" must be true or false');
    expect(refused({ VIGIL_LAG_INTERVAL_MS: '10' })).toMatch(/^env VIGIL_LAG_INTERVAL_MS: "10" must be a whole number from 100/);
  });
});
