import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../errors/vigil-error.ts';
import { loadConfig } from './config.ts';

const dir = mkdtempSync(join(tmpdir(), 'vigil-secrets-'));
const file = (name: string, text: string) => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};
const refused = (env: NodeJS.ProcessEnv): string => {
  try {
    loadConfig(env);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as Error).message;
  }
  throw new Error('expected the config to be refused');
};

describe('secrets, TLS and SASL settings', () => {
  it('reads a secret from <NAME>_FILE (final newline dropped) or <path>File in the config file', () => {
    const c = loadConfig({ VIGIL_ADMIN_TOKEN_FILE: file('token', 'tok-from-file\n'), REDIS_PASSWORD_FILE: file('rp', 'r-pw\r\n'), REDIS_USERNAME: 'vigil' });
    expect(c.http.adminToken).toBe('tok-from-file');
    expect(c.redis).toMatchObject({ username: 'vigil', password: 'r-pw' });
    const yaml = file('c.yaml', `http:\n  adminTokenFile: ${file('t2', 'tok-2')}\nkafka:\n  sasl:\n    mechanism: scram-sha-512\n    username: u\n    passwordFile: ${file('kp', 'k-pw')}\n`);
    const d = loadConfig({ VIGIL_CONFIG: yaml });
    expect(d.http.adminToken).toBe('tok-2');
    expect(d.kafka.sasl).toEqual({ mechanism: 'scram-sha-512', username: 'u', password: 'k-pw' });
  });

  it('refuses a secret given twice, an unreadable secret file, and never echoes the secret', () => {
    expect(refused({ VIGIL_ADMIN_TOKEN: 'a', VIGIL_ADMIN_TOKEN_FILE: file('t3', 'b') })).toBe('env VIGIL_ADMIN_TOKEN and env VIGIL_ADMIN_TOKEN_FILE are both set: give one');
    expect(refused({ KAFKA_SASL_PASSWORD_FILE: join(dir, 'missing') })).toMatch(/^env KAFKA_SASL_PASSWORD_FILE: cannot read the secret file ".*missing": ENOENT$/);
    const m = refused({ REDIS_URL: 'http://vigil:hunter2@h:1' });
    expect(m).toBe('env REDIS_URL: "http://vigil:***@h:1" must use redis: or rediss:');
    expect(refused({ VIGIL_CONFIG: file('bad.yaml', 'http:\n  portFile: /x\n') })).toMatch(/unknown setting "http\.portFile"/); // only secrets have a File form
  });

  it('checks SASL and TLS settings together, naming the source', () => {
    expect(loadConfig({}).kafka).toMatchObject({ ssl: false, sasl: undefined, tls: { caFile: undefined } });
    expect(refused({ KAFKA_SASL_USERNAME: 'u' })).toBe('env KAFKA_SASL_USERNAME: set KAFKA_SASL_MECHANISM (plain, scram-sha-256 or scram-sha-512) to use it');
    expect(refused({ KAFKA_SASL_MECHANISM: 'gssapi' })).toMatch(/^env KAFKA_SASL_MECHANISM: "gssapi" must be one of plain/);
    expect(refused({ KAFKA_SASL_MECHANISM: 'plain', KAFKA_SASL_USERNAME: 'u' })).toMatch(/needs a password \(KAFKA_SASL_PASSWORD or KAFKA_SASL_PASSWORD_FILE\)/);
    expect(loadConfig({ KAFKA_SASL_MECHANISM: 'SCRAM-SHA-256', KAFKA_SASL_USERNAME: 'u', KAFKA_SASL_PASSWORD: 'p' }).kafka.sasl?.mechanism).toBe('scram-sha-256');
    expect(refused({ KAFKA_TLS_CA_FILE: join(dir, 'nope.pem') })).toMatch(/^env KAFKA_TLS_CA_FILE: cannot read ".*nope\.pem": ENOENT$/);
    const ca = file('ca.pem', '-----BEGIN CERTIFICATE-----\n');
    expect(loadConfig({ KAFKA_TLS_CA_FILE: ca }).kafka).toMatchObject({ ssl: true, tls: { caFile: ca } });
    expect(refused({ KAFKA_TLS_CERT_FILE: ca })).toMatch(/a client certificate needs its key/);
    expect(refused({ SCHEMA_REGISTRY_PASSWORD: 'p' })).toMatch(/a password needs SCHEMA_REGISTRY_USERNAME/);
    expect(loadConfig({ VIGIL_ADMIN_RATE_PER_MINUTE: '0' }).http.adminRatePerMinute).toBe(0);
  });
});
