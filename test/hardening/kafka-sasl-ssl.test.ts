import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMonitor } from '../../src/app/monitor.ts';
import { main } from '../../src/cli/main.ts';
import { loadConfig } from '../../src/config/config.ts';
import type { BatchHandler } from '../../src/ingest/batch-handler.ts';
import { KafkaStartError } from '../../src/kafka/kafka-client.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { makeEvents } from '../fixtures/make-events.ts';
import { startSecureKafka, type SecureKafka } from '../helpers/secure-kafka.ts';
import { removeDir } from '../helpers/redis-server.ts';
import { makeTestCerts } from '../helpers/test-certs.ts';
import { testEnv } from '../helpers/test-config.ts';
import { waitFor } from '../helpers/wait.ts';

/**
 * vigil against a Kafka broker of the test's own (the shared one is never reconfigured) with a
 * SASL_SSL listener: SCRAM-SHA-256 credentials written at format time, a certificate signed by a CA
 * the test makes. vigil produces and consumes over it; a wrong password and a plaintext client on the
 * TLS port are refused at start with a clear error naming what to check, and never show the password.
 */
const PASSWORD = 'scram-pw-5d1e8b';

describe('Kafka over SASL_SSL (SCRAM-SHA-256, TLS with a test CA)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-sasl-'));
  const certs = makeTestCerts(dir);
  let kafka: SecureKafka;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    kafka = await startSecureKafka(join(dir, 'kafka'), certs, { name: 'vigil', password: PASSWORD });
    writeFileSync(join(dir, 'kafka-password'), `${PASSWORD}\n`);
    env = testEnv({
      KAFKA_BROKERS: kafka.saslSsl,
      KAFKA_SSL: 'true',
      KAFKA_TLS_CA_FILE: certs.ca,
      KAFKA_SASL_MECHANISM: 'scram-sha-256',
      KAFKA_SASL_USERNAME: 'vigil',
      KAFKA_SASL_PASSWORD_FILE: join(dir, 'kafka-password'),
      SCHEMA_REGISTRY_URL: '', // JSON: this broker is the subject, not the registry
      VIGIL_PARTITIONS: '2',
    });
    delete env.SCHEMA_REGISTRY_URL;
  }, 240_000);
  afterAll(async () => {
    await kafka?.stop();
    removeDir(dir);
  });

  const run = async (argv: string[], e: NodeJS.ProcessEnv) => {
    let out = '';
    let err = '';
    const stdout = new PassThrough().on('data', (d) => (out += d));
    const stderr = new PassThrough().on('data', (d) => (err += d));
    const code = await main(argv, { stdout, stderr, stdin: Readable.from([]), env: e });
    return { code, out, err };
  };

  it('vigil produce and vigil run work over SASL_SSL', async () => {
    const events = makeEvents(200);
    const file = join(dir, 'events.jsonl');
    writeFileSync(file, events.map((e) => JSON.stringify(e)).join('\n') + '\n');
    const p = await run(['produce', file], env);
    expect(p.err).toMatch(/produced 200 events to .* \(JSON\)/);
    expect(p.code).toBe(0);

    const seen = new Set<string>();
    const handler: BatchHandler = { handle: async (batch) => void batch.forEach((e) => seen.add(e.eventId)) };
    const lines: string[] = [];
    const monitor = await startMonitor(loadConfig(env), { logger: createLogger({ level: 'debug', write: (l) => lines.push(l) }), handler: () => handler, serveMetrics: false, serveApi: false });
    try {
      await waitFor(() => seen.size >= 200, { timeoutMs: 90_000, description: '200 events consumed over SASL_SSL' });
      expect(seen).toEqual(new Set(events.map((e) => e.eventId)));
    } finally {
      await monitor.stop();
    }
    expect(lines.join('\n')).not.toContain(PASSWORD);
  }, 180_000);

  it('a wrong password is refused at start: a clear, non-retriable error, without the password', async () => {
    const bad = { ...env, KAFKA_SASL_PASSWORD_FILE: undefined, KAFKA_SASL_PASSWORD: 'not-the-pw-31' };
    const e = await startMonitor(loadConfig(bad), { logger: createLogger({ level: 'error', write: () => {} }), serveMetrics: false, serveApi: false }).then(
      async (m) => (await m.stop(), undefined),
      (x: unknown) => x,
    );
    expect(e).toBeInstanceOf(KafkaStartError);
    expect((e as KafkaStartError).retriable).toBe(false);
    expect((e as Error).message).toMatch(/refused the credentials of user "vigil" \(SASL scram-sha-256\)/);
    expect((e as Error).message).not.toContain('not-the-pw-31');
    // the same through the CLI: exit 2, one line, no stack trace
    const r = await run(['produce', join(dir, 'events.jsonl')], bad);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/^vigil produce: Kafka at .* refused the credentials of user "vigil"/);
    expect(r.err).not.toMatch(/\n\s+at /);
    expect(r.err).not.toContain('not-the-pw-31');
  }, 120_000);

  it('a plaintext client on the TLS port, and TLS with a CA that did not sign the broker, fail clearly', async () => {
    const plain = { ...env, KAFKA_SSL: 'false', KAFKA_TLS_CA_FILE: undefined, KAFKA_SASL_MECHANISM: undefined, KAFKA_SASL_USERNAME: undefined, KAFKA_SASL_PASSWORD_FILE: undefined };
    const r = await run(['produce', join(dir, 'events.jsonl')], plain);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/cannot use Kafka at 127\.0\.0\.1:\d+: .*Closed connection.*If the listener is SSL or SASL_SSL, set KAFKA_SSL=true/);
    expect(r.err).not.toMatch(/\n\s+at /);

    const wrongCa = { ...env, KAFKA_TLS_CA_FILE: certs.otherCa };
    const w = await run(['produce', join(dir, 'events.jsonl')], wrongCa);
    expect(w.code).toBe(2);
    expect(w.err).toMatch(/TLS with Kafka at .* failed .*is its certificate signed by the CA given/);
  }, 120_000);
});
