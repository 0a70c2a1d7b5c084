import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { findJavaRuntimes, pickJava } from '../../scripts/stack/java-finder.ts';
import { startKafkaBroker } from '../../scripts/stack/kafka-piece.ts';
import { loadStackConfig } from '../../scripts/stack/stack-config.ts';
import { freePorts } from './redis-server.ts';
import type { TestCerts } from './test-certs.ts';

/** A Kafka broker of a test's own with a SASL_SSL listener (SCRAM-SHA-256), beside the shared one. */
export interface SecureKafka {
  /** host:port of the SASL_SSL listener. */
  saslSsl: string;
  /** host:port of its PLAINTEXT listener (inter-broker; tests use it to tell "wrong client" from "broker down"). */
  plaintext: string;
  stop(): Promise<void>;
}

/**
 * Starts it from the stack's cached Kafka jars (scripts/stack/kafka-piece.ts startKafkaBroker): a TLS
 * key store from `certs`, and the SCRAM credentials of `user` written at format time
 * (`kafka-storage format --add-scram`).
 */
export async function startSecureKafka(home: string, certs: TestCerts, user: { name: string; password: string }): Promise<SecureKafka> {
  const stack = loadStackConfig();
  const java = pickJava(findJavaRuntimes(stack.javaHomeEnv, stack.childEnv.PATH ?? ''), 17);
  if (java === undefined) throw new Error('Kafka 4 needs Java 17 or newer');
  mkdirSync(home, { recursive: true });
  const [port, controllerPort, saslPort] = await freePorts(3);
  const broker = await startKafkaBroker({
    java,
    cacheDir: stack.cacheDir,
    version: stack.kafkaVersion,
    pomPath: join(stack.repoDir, 'scripts', 'stack', 'kafka', 'pom.xml'),
    childEnv: { ...stack.childEnv },
    home,
    port,
    controllerPort,
    listeners: [{ name: 'SASL_SSL', port: saslPort }],
    properties: {
      'sasl.enabled.mechanisms': 'SCRAM-SHA-256',
      'listener.name.sasl_ssl.scram-sha-256.sasl.jaas.config': 'org.apache.kafka.common.security.scram.ScramLoginModule required;',
      'ssl.keystore.type': 'PEM',
      'ssl.keystore.location': certs.keyAndCert,
      'num.partitions': '3',
    },
    formatArgs: ['--add-scram', `SCRAM-SHA-256=[name=${user.name},password=${user.password}]`],
  });
  return { saslSsl: `127.0.0.1:${saslPort}`, plaintext: `127.0.0.1:${port}`, stop: broker.stop };
}
