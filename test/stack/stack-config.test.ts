import { describe, expect, it } from 'vitest';
import { loadStackConfig, parseBrokers } from '../../scripts/stack/stack-config.ts';
import { StackConfigError } from '../../scripts/stack/stack-errors.ts';

/** Bad env overrides are refused with the variable's name and the value, before anything starts. */
describe('stack config', () => {
  const bad: Array<[string, string, RegExp]> = [
    ['KAFKA_BROKERS', 'nonsense', /KAFKA_BROKERS must be a comma-separated list of host:port.*"nonsense"/],
    ['KAFKA_BROKERS', '127.0.0.1:99999', /KAFKA_BROKERS.*port 1-65535.*"127\.0\.0\.1:99999"/],
    ['KAFKA_BROKERS', 'a:1,,b:2', /KAFKA_BROKERS must be a comma-separated list/],
    ['SCHEMA_REGISTRY_URL', 'not a url', /SCHEMA_REGISTRY_URL must be a URL like http:\/\/host:port, got "not a url"/],
    ['SCHEMA_REGISTRY_URL', 'ftp://x:1', /SCHEMA_REGISTRY_URL must use http: or https:/],
    ['REDIS_URL', 'http://127.0.0.1:6379', /REDIS_URL must use redis: or rediss:/],
    ['SMTP_URL', '127.0.0.1:25', /SMTP_URL must use smtp: or smtps:|SMTP_URL must be a URL/],
    ['VIGIL_KAFKA_VERSION', '3.9.0', /VIGIL_KAFKA_VERSION must be a Kafka 4\.x version/],
    ['VIGIL_APICURIO_VERSION', 'latest', /VIGIL_APICURIO_VERSION must be an Apicurio 3\.x version/],
    ['VIGIL_STACK_TIMEOUT_MS', 'soon', /VIGIL_STACK_TIMEOUT_MS must be an integer of at least 1000, got "soon"/],
  ];
  it.each(bad)('refuses %s=%s', (name, value, message) => {
    let error: unknown;
    try {
      loadStackConfig({ [name]: value });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(StackConfigError);
    expect((error as StackConfigError).message).toMatch(message);
    expect((error as StackConfigError).retriable).toBe(false);
  });

  it('reads overrides and defaults', () => {
    const c = loadStackConfig({ KAFKA_BROKERS: ' 10.0.0.1:9092,[::1]:9093 ', VIGIL_CACHE_DIR: '/tmp/x-cache', SMTP_URL: '' });
    expect(c.overrides.kafkaBrokers).toBe('10.0.0.1:9092,[::1]:9093');
    expect(c.overrides.smtpUrl).toBeUndefined();
    expect(c.cacheDir).toBe('/tmp/x-cache');
    expect(c.runtimeDir).toMatch(/\.vigil\/stack$/);
    expect(c.kafkaVersion).toMatch(/^4\./);
    expect(parseBrokers('10.0.0.1:9092,[::1]:9093')).toEqual([
      { host: '10.0.0.1', port: 9092 },
      { host: '::1', port: 9093 },
    ]);
  });
});
